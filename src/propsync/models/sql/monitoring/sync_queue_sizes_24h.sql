-- sync_queue_sizes_24h: the plan's dashboard widget 1, reading the measurements the
-- syncs log to sync_queue_measurements (the plan's "would be logged to a table
-- periodically"). One row per UTC hour of the last 24 hours.
--
-- Columns
--   hour                       the hour (TIMESTAMPTZ, UTC)
--   avg_create_queue, avg_update_queue, max_create_queue, max_update_queue
CREATE OR REPLACE VIEW sync_queue_sizes_24h AS
SELECT
  CAST(DATE_TRUNC('hour', measurement_time) AS TIMESTAMPTZ) AS hour,
  AVG(properties_to_create) AS avg_create_queue,
  AVG(properties_to_update) AS avg_update_queue,
  MAX(properties_to_create) AS max_create_queue,
  MAX(properties_to_update) AS max_update_queue
FROM sync_queue_measurements
WHERE measurement_time >= CURRENT_TIMESTAMP - INTERVAL 24 HOUR
GROUP BY CAST(DATE_TRUNC('hour', measurement_time) AS TIMESTAMPTZ)
ORDER BY hour DESC
