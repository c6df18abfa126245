-- The rows Sync A sends: one per row of properties_to_create, with the value of every
-- synced field (exp__<Salesforce field>) and the record's external id as `key`.
-- `seq` numbers the rows so that records of one Salesforce parent land in the same
-- batch (less lock contention).
-- propsync fills in the two marked places: /* predicted_error */ with the checks the
-- org's describe implies (length, required: the error Salesforce would return, '' when
-- none), /* restriction */ with a pilot or --ids filter. As written it runs by hand.
SELECT
  row_number() OVER (ORDER BY q.sfdc_id NULLS LAST, q.rds_property_id) AS seq,
  CAST(q.rds_property_id AS VARCHAR) AS key,
  CAST(q.rds_property_id AS VARCHAR) AS rds_property_id,
  CAST(NULL AS VARCHAR) AS salesforce_id,
  CAST(q.snappt_property_id_c AS VARCHAR) AS exp__snappt_property_id__c,
  CAST(q.property_name AS VARCHAR) AS exp__Name,
  CAST(q.short_id AS VARCHAR) AS exp__Short_ID__c,
  CAST(q.company_id AS VARCHAR) AS exp__Company_ID__c,
  CAST(q.city AS VARCHAR) AS exp__City__c,
  CAST(q.state AS VARCHAR) AS exp__State__c,
  q.idv_enabled AS exp__IDV_Enabled__c,
  q.bank_linking_enabled AS exp__Bank_Linking_Enabled__c,
  q.payroll_enabled AS exp__Payroll_Enabled__c,
  q.income_insights_enabled AS exp__Income_Insights_Enabled__c,
  CAST(q.active_property_count AS BIGINT) AS exp__Active_Property_Count__c,
  q.is_multi_property AS exp__Is_Multi_Property__c,
  q.rds_created_at AS exp__RDS_Created_At__c,
  /* predicted_error */ '' AS predicted_error
FROM properties_to_create AS q
WHERE /* restriction */ TRUE
