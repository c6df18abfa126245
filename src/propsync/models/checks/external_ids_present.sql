-- Every queued row has the keys its write needs: the external id for creates, the record Id for updates.
SELECT 'properties_to_create' AS queue, CAST(rds_property_id AS VARCHAR) AS row_key
FROM properties_to_create
WHERE snappt_property_id_c IS NULL OR snappt_property_id_c = ''
UNION ALL
SELECT 'properties_to_update', snappt_property_id_c
FROM properties_to_update
WHERE id IS NULL OR id = ''
