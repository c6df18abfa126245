-- multi_property_stats: the plan's dashboard widget 3, verbatim but for a guarded division.
-- One row per group size over properties_aggregated_by_sfdc_id (R3).
--
-- Columns
--   num_rds_properties   active_property_count of the groups
--   num_sfdc_ids         groups of that size
--   with_features        of those, groups with any feature enabled
--   features_pct         100 * with_features / num_sfdc_ids, 2 decimals
CREATE OR REPLACE VIEW multi_property_stats AS
SELECT
  active_property_count AS num_rds_properties,
  COUNT(*) AS num_sfdc_ids,
  SUM(CASE WHEN has_any_features_enabled THEN 1 ELSE 0 END) AS with_features,
  ROUND(
    100.0 * SUM(CASE WHEN has_any_features_enabled THEN 1 ELSE 0 END) / NULLIF(COUNT(*), 0), 2
  ) AS features_pct
FROM properties_aggregated_by_sfdc_id
GROUP BY active_property_count
ORDER BY active_property_count
