-- properties_to_update: the Sync B queue (rule R6). One row per non-deleted
-- product_property__c record matched to exactly one RDS property (match_status 'MATCHED'
-- in salesforce_matched_records); orphans and Salesforce-side duplicates are never here
-- (R8, see sync_exceptions). The record expects the R4 values of the property its
-- snappt_property_id__c names, whatever its sf_property_id__c says.
-- Sync B sends only rows with has_changes_since_last_sync, and of those only the fields
-- whose *_changed flag is TRUE. sf_property_id__c is shown, never compared nor written (R7).
--
-- Columns
--   id                         the Salesforce record Id (what Sync B updates)
--   snappt_property_id_c       the external id (RDS id as text); rds_property_id the same text
--   sf_property_id_c           as Salesforce holds it (owned by the Salesforce workflow)
--   sfdc_id                    the property's normalised sfdc_id (R2), NULL if none
--   has_sf_property_id_mismatch  sf_property_id__c set and different from sfdc_id (R8;
--                              reported in sync_exceptions, still updated to R4 values)
--   property_status, is_active, expected_basis   from property_expected_values
--   has_any_features_enabled   OR of the four expected flags
--   created_at                 properties.created_at
--   last_modified_date, last_modified_by_id   the record's, as extracted
--   changed_field_count        how many mapped fields differ
--   has_changes_since_last_sync  R6: any mapped field IS DISTINCT FROM its expected value
-- Per mapped field: Salesforce field | expected (R4) | current (Salesforce) | changed flag
--   Name                        property_name            name                       name_changed
--   Short_ID__c                 short_id                 short_id_c                 short_id_changed
--   Company_ID__c               company_id               company_id_c               company_id_changed
--   City__c                     city                     city_c                     city_changed
--   State__c                    state                    state_c                    state_changed
--   IDV_Enabled__c              idv_enabled              idv_enabled_c              idv_enabled_changed
--   Bank_Linking_Enabled__c     bank_linking_enabled     bank_linking_enabled_c     bank_linking_enabled_changed
--   Payroll_Enabled__c          payroll_enabled          payroll_enabled_c          payroll_enabled_changed
--   Income_Insights_Enabled__c  income_insights_enabled  income_insights_enabled_c  income_insights_enabled_changed
--   Active_Property_Count__c    active_property_count    active_property_count_c    active_property_count_changed
--   Is_Multi_Property__c        is_multi_property        is_multi_property_c        is_multi_property_changed
--   RDS_Created_At__c           rds_created_at           rds_created_at_c           rds_created_at_changed
CREATE OR REPLACE VIEW properties_to_update AS
WITH diff AS (
  SELECT
    m.id,
    m.snappt_property_id_c,
    pe.rds_property_id,
    m.sf_property_id_c,
    pe.sfdc_id,
    m.has_sf_property_id_mismatch,
    pe.property_status,
    pe.is_active,
    pe.expected_basis,
    pe.property_name,
    pe.short_id,
    pe.company_id,
    pe.city,
    pe.state,
    pe.idv_enabled,
    pe.bank_linking_enabled,
    pe.payroll_enabled,
    pe.income_insights_enabled,
    pe.active_property_count,
    pe.is_multi_property,
    pe.rds_created_at,
    pe.has_any_features_enabled,
    pe.created_at,
    m.name,
    m.short_id_c,
    m.company_id_c,
    m.city_c,
    m.state_c,
    m.idv_enabled_c,
    m.bank_linking_enabled_c,
    m.payroll_enabled_c,
    m.income_insights_enabled_c,
    m.active_property_count_c,
    m.is_multi_property_c,
    m.rds_created_at_c,
    m.last_modified_date,
    m.last_modified_by_id,
    (pe.property_name IS DISTINCT FROM m.name) AS name_changed,
    (pe.short_id IS DISTINCT FROM m.short_id_c) AS short_id_changed,
    (pe.company_id IS DISTINCT FROM m.company_id_c) AS company_id_changed,
    (pe.city IS DISTINCT FROM m.city_c) AS city_changed,
    (pe.state IS DISTINCT FROM m.state_c) AS state_changed,
    (pe.idv_enabled IS DISTINCT FROM m.idv_enabled_c) AS idv_enabled_changed,
    (pe.bank_linking_enabled IS DISTINCT FROM m.bank_linking_enabled_c) AS bank_linking_enabled_changed,
    (pe.payroll_enabled IS DISTINCT FROM m.payroll_enabled_c) AS payroll_enabled_changed,
    (pe.income_insights_enabled IS DISTINCT FROM m.income_insights_enabled_c) AS income_insights_enabled_changed,
    (pe.active_property_count IS DISTINCT FROM m.active_property_count_c) AS active_property_count_changed,
    (pe.is_multi_property IS DISTINCT FROM m.is_multi_property_c) AS is_multi_property_changed,
    (pe.rds_created_at IS DISTINCT FROM m.rds_created_at_c) AS rds_created_at_changed
  FROM salesforce_matched_records AS m
  INNER JOIN property_expected_values AS pe ON pe.rds_property_id = m.rds_property_id
  WHERE m.match_status = 'MATCHED'
)
SELECT
  *,
  CAST(
    CASE WHEN name_changed THEN 1 ELSE 0 END
    + CASE WHEN short_id_changed THEN 1 ELSE 0 END
    + CASE WHEN company_id_changed THEN 1 ELSE 0 END
    + CASE WHEN city_changed THEN 1 ELSE 0 END
    + CASE WHEN state_changed THEN 1 ELSE 0 END
    + CASE WHEN idv_enabled_changed THEN 1 ELSE 0 END
    + CASE WHEN bank_linking_enabled_changed THEN 1 ELSE 0 END
    + CASE WHEN payroll_enabled_changed THEN 1 ELSE 0 END
    + CASE WHEN income_insights_enabled_changed THEN 1 ELSE 0 END
    + CASE WHEN active_property_count_changed THEN 1 ELSE 0 END
    + CASE WHEN is_multi_property_changed THEN 1 ELSE 0 END
    + CASE WHEN rds_created_at_changed THEN 1 ELSE 0 END
    AS INTEGER
  ) AS changed_field_count,
  (
    name_changed
    OR short_id_changed
    OR company_id_changed
    OR city_changed
    OR state_changed
    OR idv_enabled_changed
    OR bank_linking_enabled_changed
    OR payroll_enabled_changed
    OR income_insights_enabled_changed
    OR active_property_count_changed
    OR is_multi_property_changed
    OR rds_created_at_changed
  ) AS has_changes_since_last_sync
FROM diff
