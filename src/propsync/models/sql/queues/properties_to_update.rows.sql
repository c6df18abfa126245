-- The rows Sync B sends: the records of properties_to_update with a change, each with
-- per synced field the expected value (exp__), the current Salesforce value (cur__) and
-- the view's own changed flag (chg__), so the plan and has_changes_since_last_sync agree.
-- `key` is the Salesforce Id; `seq` orders by parent, then Id (one parent's records in
-- one batch); last_modified_by_id / last_modified_date feed the drift report.
-- propsync fills in the two marked places: /* predicted_error */ with the checks the
-- org's describe implies for the changed fields ('' when none), /* restriction */ with
-- a pilot or --ids filter. As written it runs by hand.
SELECT
  row_number() OVER (ORDER BY q.sf_property_id_c NULLS LAST, q.id) AS seq,
  q.id AS key,
  CAST(q.snappt_property_id_c AS VARCHAR) AS rds_property_id,
  q.id AS salesforce_id,
  q.sf_property_id_c AS sf_property_id_c,
  q.last_modified_by_id AS last_modified_by_id,
  q.last_modified_date AS last_modified_date,
  CAST(q.property_name AS VARCHAR) AS exp__Name,
  q.name AS cur__Name,
  q.name_changed AS chg__Name,
  CAST(q.short_id AS VARCHAR) AS exp__Short_ID__c,
  q.short_id_c AS cur__Short_ID__c,
  q.short_id_changed AS chg__Short_ID__c,
  CAST(q.company_id AS VARCHAR) AS exp__Company_ID__c,
  q.company_id_c AS cur__Company_ID__c,
  q.company_id_changed AS chg__Company_ID__c,
  CAST(q.city AS VARCHAR) AS exp__City__c,
  q.city_c AS cur__City__c,
  q.city_changed AS chg__City__c,
  CAST(q.state AS VARCHAR) AS exp__State__c,
  q.state_c AS cur__State__c,
  q.state_changed AS chg__State__c,
  q.idv_enabled AS exp__IDV_Enabled__c,
  q.idv_enabled_c AS cur__IDV_Enabled__c,
  q.idv_enabled_changed AS chg__IDV_Enabled__c,
  q.bank_linking_enabled AS exp__Bank_Linking_Enabled__c,
  q.bank_linking_enabled_c AS cur__Bank_Linking_Enabled__c,
  q.bank_linking_enabled_changed AS chg__Bank_Linking_Enabled__c,
  q.payroll_enabled AS exp__Payroll_Enabled__c,
  q.payroll_enabled_c AS cur__Payroll_Enabled__c,
  q.payroll_enabled_changed AS chg__Payroll_Enabled__c,
  q.income_insights_enabled AS exp__Income_Insights_Enabled__c,
  q.income_insights_enabled_c AS cur__Income_Insights_Enabled__c,
  q.income_insights_enabled_changed AS chg__Income_Insights_Enabled__c,
  CAST(q.active_property_count AS BIGINT) AS exp__Active_Property_Count__c,
  q.active_property_count_c AS cur__Active_Property_Count__c,
  q.active_property_count_changed AS chg__Active_Property_Count__c,
  q.is_multi_property AS exp__Is_Multi_Property__c,
  q.is_multi_property_c AS cur__Is_Multi_Property__c,
  q.is_multi_property_changed AS chg__Is_Multi_Property__c,
  q.rds_created_at AS exp__RDS_Created_At__c,
  q.rds_created_at_c AS cur__RDS_Created_At__c,
  q.rds_created_at_changed AS chg__RDS_Created_At__c,
  /* predicted_error */ '' AS predicted_error
FROM properties_to_update AS q
WHERE q.has_changes_since_last_sync AND (/* restriction */ TRUE)
