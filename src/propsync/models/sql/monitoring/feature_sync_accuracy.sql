-- feature_sync_accuracy: the plan's dashboard widget 2, adapted to rule R4.
-- The plan joined properties_aggregated_by_sfdc_id to Salesforce on sf_property_id__c.
-- That contradicts R4 (a record expects the values of the property its
-- snappt_property_id__c names; sf_property_id__c never changes what it expects), skips
-- records the workflow has not processed yet, and can never reach 100% while id
-- mismatches exist. Here every matched record (properties_to_update) is compared with its
-- R4 expected values; a NULL on the Salesforce side counts as a mismatch.
--
-- Columns
--   feature            'IDV', 'Bank Linking', 'Payroll', 'Income Insights'
--   accuracy_pct       100 * matching records / total_properties, 2 decimals (NULL if none)
--   total_properties   matched records compared
--   mismatches         records whose flag IS DISTINCT FROM the expected value
--   sort_order         1-4, the plan's order
CREATE OR REPLACE VIEW feature_sync_accuracy AS
WITH counts AS (
  SELECT
    COUNT(*) AS total,
    COUNT(*) FILTER (WHERE idv_enabled_changed) AS idv_bad,
    COUNT(*) FILTER (WHERE bank_linking_enabled_changed) AS bank_bad,
    COUNT(*) FILTER (WHERE payroll_enabled_changed) AS payroll_bad,
    COUNT(*) FILTER (WHERE income_insights_enabled_changed) AS income_bad
  FROM properties_to_update
),
per_feature AS (
  SELECT 'IDV' AS feature, 1 AS sort_order, total, idv_bad AS bad FROM counts
  UNION ALL
  SELECT 'Bank Linking', 2, total, bank_bad FROM counts
  UNION ALL
  SELECT 'Payroll', 3, total, payroll_bad FROM counts
  UNION ALL
  SELECT 'Income Insights', 4, total, income_bad FROM counts
)
SELECT
  feature,
  ROUND(100.0 * (total - bad) / NULLIF(total, 0), 2) AS accuracy_pct,
  total AS total_properties,
  bad AS mismatches,
  sort_order
FROM per_feature
ORDER BY sort_order
