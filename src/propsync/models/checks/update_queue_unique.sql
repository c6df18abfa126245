-- No Salesforce record and no RDS property appears twice in the Sync B queue.
SELECT 'id' AS key_kind, id AS key_value, COUNT(*) AS occurrences
FROM properties_to_update
GROUP BY id
HAVING COUNT(*) > 1
UNION ALL
SELECT 'rds_property_id', CAST(rds_property_id AS VARCHAR), COUNT(*)
FROM properties_to_update
GROUP BY rds_property_id
HAVING COUNT(*) > 1
