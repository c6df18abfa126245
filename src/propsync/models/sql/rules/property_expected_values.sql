-- property_expected_values: rule R4, the values Salesforce should hold for EVERY RDS
-- property (any status). A Salesforce record expects the row of the property named by its
-- snappt_property_id__c; sf_property_id__c never changes what it expects.
--
-- Columns
--   rds_property_id, property_status, is_active, sfdc_id, has_valid_sfdc_id
--                              from rds_properties_normalized
--   snappt_property_id_c       the external id written to Salesforce: the RDS id as text
--   expected_basis             which R4 branch applies:
--                                'GROUP'         valid sfdc_id and its group has ACTIVE
--                                                members (ACTIVE or not): group aggregate
--                                'OWN'           ACTIVE without a valid sfdc_id: own flags,
--                                                count 1, not multi
--                                'NO_ACTIVE_GROUP' not ACTIVE, no group with active members:
--                                                all flags FALSE, count 0, not multi
--   idv_enabled, bank_linking_enabled, payroll_enabled, income_insights_enabled,
--   active_property_count, is_multi_property, has_any_features_enabled   the R4 values
--   own_idv_enabled, ... own_has_any_features_enabled   the property's own flags (for P1
--                              reporting; never written)
--   display fields (always the property's own, R4):
--     property_name -> Name, short_id -> Short_ID__c, company_id -> Company_ID__c (the RDS
--     company id as text), city -> City__c, state -> State__c,
--     rds_created_at -> RDS_Created_At__c (created_at truncated to the millisecond, the
--     precision a Salesforce datetime keeps, so it never shows as a change)
--   created_at                 properties.created_at, untruncated
CREATE OR REPLACE VIEW property_expected_values AS
SELECT
  e.rds_property_id,
  e.snappt_property_id_c,
  e.property_status,
  e.is_active,
  e.sfdc_id,
  e.has_valid_sfdc_id,
  CASE
    WHEN g.sfdc_id IS NOT NULL THEN 'GROUP'
    WHEN e.is_active THEN 'OWN'
    ELSE 'NO_ACTIVE_GROUP'
  END AS expected_basis,
  CASE
    WHEN g.sfdc_id IS NOT NULL THEN g.idv_enabled
    WHEN e.is_active THEN e.idv_enabled
    ELSE FALSE
  END AS idv_enabled,
  CASE
    WHEN g.sfdc_id IS NOT NULL THEN g.bank_linking_enabled
    WHEN e.is_active THEN e.bank_linking_enabled
    ELSE FALSE
  END AS bank_linking_enabled,
  CASE
    WHEN g.sfdc_id IS NOT NULL THEN g.payroll_enabled
    WHEN e.is_active THEN e.payroll_enabled
    ELSE FALSE
  END AS payroll_enabled,
  CASE
    WHEN g.sfdc_id IS NOT NULL THEN g.income_insights_enabled
    WHEN e.is_active THEN e.income_insights_enabled
    ELSE FALSE
  END AS income_insights_enabled,
  CAST(
    CASE
      WHEN g.sfdc_id IS NOT NULL THEN g.active_property_count
      WHEN e.is_active THEN 1
      ELSE 0
    END AS INTEGER
  ) AS active_property_count,
  COALESCE(g.is_multi_property, FALSE) AS is_multi_property,
  CASE
    WHEN g.sfdc_id IS NOT NULL THEN g.has_any_features_enabled
    WHEN e.is_active THEN e.has_any_features_enabled
    ELSE FALSE
  END AS has_any_features_enabled,
  e.idv_enabled AS own_idv_enabled,
  e.bank_linking_enabled AS own_bank_linking_enabled,
  e.payroll_enabled AS own_payroll_enabled,
  e.income_insights_enabled AS own_income_insights_enabled,
  e.has_any_features_enabled AS own_has_any_features_enabled,
  e.property_name,
  CAST(e.short_id AS VARCHAR) AS short_id,
  CAST(e.company_id AS VARCHAR) AS company_id,
  e.city,
  e.state,
  CASE
    WHEN e.has_storable_created_at
      THEN CAST(DATE_TRUNC('millisecond', e.created_at) AS TIMESTAMPTZ)
  END AS rds_created_at,
  e.created_at
FROM rds_properties_normalized AS e
LEFT JOIN properties_aggregated_by_sfdc_id AS g ON g.sfdc_id = e.sfdc_id
