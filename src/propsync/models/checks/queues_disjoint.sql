-- No RDS property is in both the create and the update queue.
SELECT c.rds_property_id, u.id AS salesforce_id
FROM properties_to_create AS c
INNER JOIN properties_to_update AS u ON u.rds_property_id = c.rds_property_id
