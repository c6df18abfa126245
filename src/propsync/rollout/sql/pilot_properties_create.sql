-- pilot_properties_create: PILOT SET A of the plan's Step 4.1, the 50 properties the
-- pilot's Sync A creates, drawn from properties_to_create.
--
-- The plan's five strata, in priority order (an earlier stratum wins a property, so no
-- property is in two):
--   1 Has Features       10  any of the four expected feature flags TRUE
--   2 No Features        10  all four FALSE
--   3 Recently Created   10  created_at in the last 30 days
--   4 Old Properties     10  created_at more than a year ago
--   5 Diverse Companies  10  properties of 10 random companies (one per company first)
-- Where the plan says ORDER BY RANDOM(), rows are ordered by md5(seed || ':' || id):
-- random-looking, but the same seed over the same queue picks the same properties.
-- A stratum with fewer eligible rows than its target is filled from the rest of the
-- queue (rows no stratum took, in the same seeded order) and those rows say filled.
--
-- Parameters: 1 the seed (text), 2 "now" (TIMESTAMPTZ) the age strata are measured from.
-- propsync replaces the TRUE marked syncable below with the field contract's checks (a row whose
-- values Salesforce would reject, e.g. a Name over 80 characters, tests the data, not
-- the flow: `propsync plan` lists those). As written the query runs by hand.
--
-- Columns: the plan's export (rds_property_id, property_name, short_id, company_id, city,
-- state, idv_enabled, bank_linking_enabled, pilot_reason, priority), then filled.
WITH params AS (
  SELECT CAST(? AS VARCHAR) AS seed, CAST(? AS TIMESTAMPTZ) AS now_ts
),
queue AS (
  SELECT
    q.*,
    md5(p.seed || ':' || CAST(q.rds_property_id AS VARCHAR)) AS pick,
    md5(p.seed || ':company:' || COALESCE(q.company_id, '')) AS company_pick,
    q.created_at >= p.now_ts - INTERVAL 30 DAY AS is_recent,
    q.created_at < p.now_ts - INTERVAL 1 YEAR AS is_old
  FROM properties_to_create AS q
  CROSS JOIN params AS p
  WHERE /* syncable */ TRUE
),
has_features AS (
  SELECT rds_property_id, 'Has Features' AS pilot_reason, 1 AS priority
  FROM queue
  WHERE idv_enabled = TRUE OR bank_linking_enabled = TRUE
    OR payroll_enabled = TRUE OR income_insights_enabled = TRUE
  ORDER BY pick
  LIMIT 10
),
no_features AS (
  SELECT rds_property_id, 'No Features' AS pilot_reason, 2 AS priority
  FROM queue
  WHERE idv_enabled = FALSE AND bank_linking_enabled = FALSE
    AND payroll_enabled = FALSE AND income_insights_enabled = FALSE
    AND rds_property_id NOT IN (SELECT rds_property_id FROM has_features)
  ORDER BY pick
  LIMIT 10
),
taken_2 AS (
  SELECT rds_property_id FROM has_features
  UNION ALL SELECT rds_property_id FROM no_features
),
recently_created AS (
  SELECT rds_property_id, 'Recently Created' AS pilot_reason, 3 AS priority
  FROM queue
  WHERE is_recent
    AND rds_property_id NOT IN (SELECT rds_property_id FROM taken_2)
  ORDER BY pick
  LIMIT 10
),
taken_3 AS (
  SELECT rds_property_id FROM taken_2
  UNION ALL SELECT rds_property_id FROM recently_created
),
old_properties AS (
  SELECT rds_property_id, 'Old Properties' AS pilot_reason, 4 AS priority
  FROM queue
  WHERE is_old
    AND rds_property_id NOT IN (SELECT rds_property_id FROM taken_3)
  ORDER BY pick
  LIMIT 10
),
taken_4 AS (
  SELECT rds_property_id FROM taken_3
  UNION ALL SELECT rds_property_id FROM old_properties
),
-- 10 random companies among those with a property no stratum took yet.
diverse_company_ids AS (
  SELECT company_id
  FROM queue
  WHERE company_id IS NOT NULL
    AND rds_property_id NOT IN (SELECT rds_property_id FROM taken_4)
  GROUP BY company_id, company_pick
  ORDER BY company_pick
  LIMIT 10
),
diverse_companies AS (
  SELECT rds_property_id, 'Diverse Companies' AS pilot_reason, 5 AS priority
  FROM (
    SELECT
      q.rds_property_id,
      q.pick,
      row_number() OVER (PARTITION BY q.company_id ORDER BY q.pick) AS nth_in_company
    FROM queue AS q
    WHERE q.company_id IN (SELECT company_id FROM diverse_company_ids)
      AND q.rds_property_id NOT IN (SELECT rds_property_id FROM taken_4)
  ) AS c
  ORDER BY nth_in_company, pick
  LIMIT 10
),
chosen AS (
  SELECT *, FALSE AS filled FROM has_features
  UNION ALL SELECT *, FALSE AS filled FROM no_features
  UNION ALL SELECT *, FALSE AS filled FROM recently_created
  UNION ALL SELECT *, FALSE AS filled FROM old_properties
  UNION ALL SELECT *, FALSE AS filled FROM diverse_companies
),
-- The targets again, to count each stratum's shortfall.
strata AS (
  SELECT * FROM (
    VALUES
      (1, 'Has Features', 10),
      (2, 'No Features', 10),
      (3, 'Recently Created', 10),
      (4, 'Old Properties', 10),
      (5, 'Diverse Companies', 10)
  ) AS s (priority, pilot_reason, target)
),
shortfall AS (
  SELECT s.priority, s.pilot_reason, s.target - COUNT(c.rds_property_id) AS missing
  FROM strata AS s
  LEFT JOIN chosen AS c ON c.priority = s.priority
  GROUP BY s.priority, s.pilot_reason, s.target
),
-- Stratum p takes the filler rows numbered first_slot .. first_slot + missing - 1.
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
  q.rds_property_id,
  q.property_name,
  q.short_id,
  q.company_id,
  q.city,
  q.state,
  q.idv_enabled,
  q.bank_linking_enabled,
  sel.pilot_reason,
  sel.priority,
  sel.filled
FROM selected AS sel
JOIN queue AS q ON q.rds_property_id = sel.rds_property_id
ORDER BY sel.priority, q.property_name, q.rds_property_id
