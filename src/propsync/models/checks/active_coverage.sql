-- Every ACTIVE property is in exactly one of: the create queue, the update queue, the records sharing one external id (R5, R6, R8).
WITH placed AS (
  SELECT rds_property_id, 'create' AS place FROM properties_to_create
  UNION ALL
  SELECT rds_property_id, 'update' FROM properties_to_update
  UNION ALL
  SELECT DISTINCT rds_property_id, 'sf_duplicate'
  FROM salesforce_matched_records
  WHERE match_status = 'SF_DUPLICATE' AND matched_exactly
),
counted AS (
  SELECT e.rds_property_id, COUNT(p.place) AS places
  FROM rds_properties_normalized AS e
  LEFT JOIN placed AS p ON p.rds_property_id = e.rds_property_id
  WHERE e.is_active
  GROUP BY e.rds_property_id
)
SELECT rds_property_id, places
FROM counted
WHERE places <> 1
