-- properties_aggregated_by_sfdc_id: rule R3, one row per normalised sfdc_id that has at
-- least one ACTIVE property (R1). Properties without a valid sfdc_id are not grouped.
--
-- Columns
--   sfdc_id                    the normalised 18-char id (R2)
--   idv_enabled, bank_linking_enabled, payroll_enabled, income_insights_enabled
--                              OR of the group's own flags
--   has_any_features_enabled   OR of the four
--   active_property_count      group size (ACTIVE members only)
--   is_multi_property          active_property_count > 1
--   primary_rds_property_id    the member with the earliest created_at (NULL created_at
--                              sorts last), ties broken by the smallest id
--   primary_property_name      that member's name (display only)
CREATE OR REPLACE VIEW properties_aggregated_by_sfdc_id AS
WITH members AS (
  SELECT
    sfdc_id,
    rds_property_id,
    property_name,
    idv_enabled,
    bank_linking_enabled,
    payroll_enabled,
    income_insights_enabled,
    ROW_NUMBER() OVER (
      PARTITION BY sfdc_id
      ORDER BY created_at ASC NULLS LAST, rds_property_id ASC NULLS LAST
    ) AS member_rank
  FROM rds_properties_normalized
  WHERE is_active AND has_valid_sfdc_id = 1
)
SELECT
  sfdc_id,
  MAX(CASE WHEN idv_enabled THEN 1 ELSE 0 END) = 1 AS idv_enabled,
  MAX(CASE WHEN bank_linking_enabled THEN 1 ELSE 0 END) = 1 AS bank_linking_enabled,
  MAX(CASE WHEN payroll_enabled THEN 1 ELSE 0 END) = 1 AS payroll_enabled,
  MAX(CASE WHEN income_insights_enabled THEN 1 ELSE 0 END) = 1 AS income_insights_enabled,
  MAX(
    CASE
      WHEN idv_enabled OR bank_linking_enabled OR payroll_enabled OR income_insights_enabled
        THEN 1
      ELSE 0
    END
  ) = 1 AS has_any_features_enabled,
  CAST(COUNT(*) AS INTEGER) AS active_property_count,
  COUNT(*) > 1 AS is_multi_property,
  MAX(CASE WHEN member_rank = 1 THEN rds_property_id END) AS primary_rds_property_id,
  MAX(CASE WHEN member_rank = 1 THEN property_name END) AS primary_property_name
FROM members
GROUP BY sfdc_id
