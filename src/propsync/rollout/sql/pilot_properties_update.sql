-- pilot_properties_update: PILOT SET B of the plan's Step 4.1, the 50 records the
-- pilot's Sync B updates, drawn from properties_to_update (one row per matched record).
--
-- The plan's five strata, in priority order (an earlier stratum wins a record, so no
-- property is in two):
--   1 Single Property      10  is_multi_property FALSE and IDV enabled
--   2 Multi-Property (2)   15  active_property_count = 2
--   3 Multi-Property (3+)   5  active_property_count >= 3
--   4 Feature Mismatch     10  has_any_features_enabled and has_changes_since_last_sync
--                              (flags that will change from FALSE to TRUE)
--   5 No Features          10  has_any_features_enabled FALSE
-- Where the plan says ORDER BY RANDOM(), rows are ordered by md5(seed || ':' || id):
-- the same seed over the same queue picks the same records. A stratum with fewer
-- eligible rows than its target is filled from the rest of the queue (rows no stratum
-- took, in the same seeded order) and those rows say filled.
--
-- Parameters: 1 the seed (text). propsync replaces the TRUE marked syncable with the field
-- contract's checks on the fields Sync B would change (see pilot_properties_create).
--
-- Columns: the plan's export (snappt_property_id_c, sfdc_id, property_name,
-- active_property_count, is_multi_property, idv_enabled, bank_linking_enabled,
-- has_any_features_enabled, pilot_reason, priority), then filled, rds_property_id and
-- the record's Id (salesforce_id).
WITH params AS (
  SELECT CAST(? AS VARCHAR) AS seed
),
queue AS (
  SELECT q.*, md5(p.seed || ':' || q.snappt_property_id_c) AS pick
  FROM properties_to_update AS q
  CROSS JOIN params AS p
  WHERE /* syncable */ TRUE
),
single_property AS (
  SELECT rds_property_id, 'Single Property' AS pilot_reason, 1 AS priority
  FROM queue
  WHERE is_multi_property = FALSE
    AND idv_enabled = TRUE
  ORDER BY pick
  LIMIT 10
),
multi_property_2 AS (
  SELECT rds_property_id, 'Multi-Property (2)' AS pilot_reason, 2 AS priority
  FROM queue
  WHERE active_property_count = 2
    AND rds_property_id NOT IN (SELECT rds_property_id FROM single_property)
  ORDER BY pick
  LIMIT 15
),
taken_2 AS (
  SELECT rds_property_id FROM single_property
  UNION ALL SELECT rds_property_id FROM multi_property_2
),
multi_property_3 AS (
  SELECT rds_property_id, 'Multi-Property (3+)' AS pilot_reason, 3 AS priority
  FROM queue
  WHERE active_property_count >= 3
    AND rds_property_id NOT IN (SELECT rds_property_id FROM taken_2)
  ORDER BY pick
  LIMIT 5
),
taken_3 AS (
  SELECT rds_property_id FROM taken_2
  UNION ALL SELECT rds_property_id FROM multi_property_3
),
feature_mismatch AS (
  SELECT rds_property_id, 'Feature Mismatch' AS pilot_reason, 4 AS priority
  FROM queue
  WHERE has_any_features_enabled = TRUE
    AND has_changes_since_last_sync = TRUE
    AND rds_property_id NOT IN (SELECT rds_property_id FROM taken_3)
  ORDER BY pick
  LIMIT 10
),
taken_4 AS (
  SELECT rds_property_id FROM taken_3
  UNION ALL SELECT rds_property_id FROM feature_mismatch
),
no_features AS (
  SELECT rds_property_id, 'No Features' AS pilot_reason, 5 AS priority
  FROM queue
  WHERE has_any_features_enabled = FALSE
    AND rds_property_id NOT IN (SELECT rds_property_id FROM taken_4)
  ORDER BY pick
  LIMIT 10
),
chosen AS (
  SELECT *, FALSE AS filled FROM single_property
  UNION ALL SELECT *, FALSE AS filled FROM multi_property_2
  UNION ALL SELECT *, FALSE AS filled FROM multi_property_3
  UNION ALL SELECT *, FALSE AS filled FROM feature_mismatch
  UNION ALL SELECT *, FALSE AS filled FROM no_features
),
-- The targets again, to count each stratum's shortfall.
strata AS (
  SELECT * FROM (
    VALUES
      (1, 'Single Property', 10),
      (2, 'Multi-Property (2)', 15),
      (3, 'Multi-Property (3+)', 5),
      (4, 'Feature Mismatch', 10),
      (5, 'No Features', 10)
  ) AS s (priority, pilot_reason, target)
),
shortfall AS (
  SELECT s.priority, s.pilot_reason, s.target - COUNT(c.rds_property_id) AS missing
  FROM strata AS s
  LEFT JOIN chosen AS c ON c.priority = s.priority
  GROUP BY s.priority, s.pilot_reason, s.target
),
slots AS (
  SELECT *, SUM(missing) OVER (ORDER BY priority) - missing AS first_slot
  FROM shortfall
),
rest AS (
  SELECT rds_property_id, row_number() OVER (ORDER BY pick) - 1 AS slot
  FROM queue
  WHERE rds_property_id NOT IN (SELECT rds_property_id FROM chosen)
),
fillers AS (
  SELECT r.rds_property_id, s.pilot_reason, s.priority, TRUE AS filled
  FROM rest AS r
  JOIN slots AS s ON r.slot >= s.first_slot AND r.slot < s.first_slot + s.missing
),
selected AS (
  SELECT * FROM chosen
  UNION ALL SELECT * FROM fillers
)
SELECT
  q.snappt_property_id_c,
  q.sfdc_id,
  q.property_name,
  q.active_property_count,
  q.is_multi_property,
  q.idv_enabled,
  q.bank_linking_enabled,
  q.has_any_features_enabled,
  sel.pilot_reason,
  sel.priority,
  sel.filled,
  q.rds_property_id,
  q.id AS salesforce_id
FROM selected AS sel
JOIN queue AS q ON q.rds_property_id = sel.rds_property_id
ORDER BY sel.priority, q.property_name, q.snappt_property_id_c
