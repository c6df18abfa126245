-- Each sfdc_id group's count equals its ACTIVE members with that normalised id (R3).
WITH members AS (
  SELECT sfdc_id, COUNT(*) AS members
  FROM rds_properties_normalized
  WHERE is_active AND has_valid_sfdc_id = 1
  GROUP BY sfdc_id
)
SELECT g.sfdc_id, g.active_property_count, m.members
FROM properties_aggregated_by_sfdc_id AS g
FULL OUTER JOIN members AS m ON m.sfdc_id = g.sfdc_id
WHERE g.active_property_count IS DISTINCT FROM m.members
