-- No RDS property appears twice in the Sync A queue (R7: never a second record per id).
SELECT rds_property_id, COUNT(*) AS occurrences
FROM properties_to_create
GROUP BY rds_property_id
HAVING COUNT(*) > 1
