-- rds_properties_enriched: one row per RDS property (every status, soft-deleted too),
-- with its own feature flags pivoted from property_features and its sfdc_id normalised.
-- The only model that reads the RDS schema: adapt this file alone to another schema.
--
-- Columns
--   rds_property_id          properties.id
--   snappt_property_id_c     the same id as text: what a Salesforce record's external id holds
--   property_name, short_id, address, city, state, zip   from properties
--   company_id               properties.company_id (BIGINT); company_name from companies
--   status                   properties.status as stored
--   property_status          'DELETED' when soft-deleted (deleted_at set), else status; so
--                            the plan's `property_status = 'ACTIVE'` is exactly rule R1
--   is_active                R1: status = 'ACTIVE' and deleted_at IS NULL
--   sfdc_id_raw              properties.sfdc_id as stored
--   sfdc_id                  R2: trimmed (space, tab, CR, LF); 15-char ids get their
--                            checksum suffix; 18-char ids must carry the right suffix
--                            (compared case-insensitively) and get the canonical upper-case
--                            one; empty or anything else -> NULL. Mirrors
--                            propsync.models.sfid.normalize.
--   has_valid_sfdc_id        1 when sfdc_id is not NULL, else 0
--   has_invalid_sfdc_id      TRUE when sfdc_id_raw holds something (after trim) that R2 rejects
--   idv_enabled, bank_linking_enabled, payroll_enabled, income_insights_enabled
--                            the property's OWN flags: TRUE when a property_features row for
--                            identity_verification / bank_linking / payroll_linking /
--                            income_insights has enabled = TRUE; missing or NULL -> FALSE
--   has_any_features_enabled OR of the four own flags
--   created_at, updated_at, deleted_at   from properties
-- materialized: table
-- The sfdc_id normalisation is the costliest step of the models, so DuckDB stores this
-- model as a table at `propsync models build` (rebuild after every RDS extraction).
CREATE OR REPLACE VIEW rds_properties_enriched AS
WITH features AS (
  -- Only enabled rows can switch a flag on (missing, FALSE and NULL all mean off), so
  -- the others are dropped before the aggregation.
  SELECT
    property_id,
    MAX(CASE WHEN feature = 'identity_verification' THEN 1 ELSE 0 END) AS idv_on,
    MAX(CASE WHEN feature = 'bank_linking' THEN 1 ELSE 0 END) AS bank_on,
    MAX(CASE WHEN feature = 'payroll_linking' THEN 1 ELSE 0 END) AS payroll_on,
    MAX(CASE WHEN feature = 'income_insights' THEN 1 ELSE 0 END) AS income_on
  FROM property_features
  WHERE enabled
    AND feature IN ('identity_verification', 'bank_linking', 'payroll_linking', 'income_insights')
  GROUP BY property_id
),
-- Salesforce's 15 -> 18 checksum (mirrors propsync.models.sfid): per 5-char chunk,
-- bit i is set when chunk position i is an upper-case letter, and the 5-bit value picks
-- one of 'A'..'Z','0'..'5'. The bits are computed once per row in a projection and the
-- characters looked up in this 32-row table: the join keeps the optimiser from copying
-- the expression into every place the id is used (measured 5x slower at 1M rows).
bits AS (
  SELECT 0 AS v
  UNION ALL
  SELECT 1 AS v
),
checksum_chars AS (
  SELECT
    b1.v + 2 * b2.v + 4 * b3.v + 8 * b4.v + 16 * b5.v AS chunk_bits,
    SUBSTR(
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345',
      1 + b1.v + 2 * b2.v + 4 * b3.v + 8 * b4.v + 16 * b5.v,
      1
    ) AS checksum_char
  FROM bits AS b1
  CROSS JOIN bits AS b2
  CROSS JOIN bits AS b3
  CROSS JOIN bits AS b4
  CROSS JOIN bits AS b5
),
trimmed AS (
  SELECT
    p.*,
    TRIM(p.sfdc_id, CHR(32) || CHR(9) || CHR(13) || CHR(10)) AS sfdc_id_trimmed
  FROM properties AS p
),
shaped AS (
  -- id15: the first 15 characters when the trimmed text is 15 or 18 ASCII letters and
  -- digits, else NULL; chunk_bits_1..3: the case bits of its three chunks.
  SELECT
    *,
    CASE
      WHEN regexp_matches(sfdc_id_trimmed, '^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$')
        THEN SUBSTR(sfdc_id_trimmed, 1, 15)
    END AS id15
  FROM trimmed
),
bitted AS (
  SELECT
    *,
    CASE
      WHEN id15 IS NOT NULL
        THEN CASE WHEN SUBSTR(id15, 1, 1) BETWEEN 'A' AND 'Z' THEN 1 ELSE 0 END
          + CASE WHEN SUBSTR(id15, 2, 1) BETWEEN 'A' AND 'Z' THEN 2 ELSE 0 END
          + CASE WHEN SUBSTR(id15, 3, 1) BETWEEN 'A' AND 'Z' THEN 4 ELSE 0 END
          + CASE WHEN SUBSTR(id15, 4, 1) BETWEEN 'A' AND 'Z' THEN 8 ELSE 0 END
          + CASE WHEN SUBSTR(id15, 5, 1) BETWEEN 'A' AND 'Z' THEN 16 ELSE 0 END
    END AS chunk_bits_1,
    CASE
      WHEN id15 IS NOT NULL
        THEN CASE WHEN SUBSTR(id15, 6, 1) BETWEEN 'A' AND 'Z' THEN 1 ELSE 0 END
          + CASE WHEN SUBSTR(id15, 7, 1) BETWEEN 'A' AND 'Z' THEN 2 ELSE 0 END
          + CASE WHEN SUBSTR(id15, 8, 1) BETWEEN 'A' AND 'Z' THEN 4 ELSE 0 END
          + CASE WHEN SUBSTR(id15, 9, 1) BETWEEN 'A' AND 'Z' THEN 8 ELSE 0 END
          + CASE WHEN SUBSTR(id15, 10, 1) BETWEEN 'A' AND 'Z' THEN 16 ELSE 0 END
    END AS chunk_bits_2,
    CASE
      WHEN id15 IS NOT NULL
        THEN CASE WHEN SUBSTR(id15, 11, 1) BETWEEN 'A' AND 'Z' THEN 1 ELSE 0 END
          + CASE WHEN SUBSTR(id15, 12, 1) BETWEEN 'A' AND 'Z' THEN 2 ELSE 0 END
          + CASE WHEN SUBSTR(id15, 13, 1) BETWEEN 'A' AND 'Z' THEN 4 ELSE 0 END
          + CASE WHEN SUBSTR(id15, 14, 1) BETWEEN 'A' AND 'Z' THEN 8 ELSE 0 END
          + CASE WHEN SUBSTR(id15, 15, 1) BETWEEN 'A' AND 'Z' THEN 16 ELSE 0 END
    END AS chunk_bits_3
  FROM shaped
),
normalized AS (
  SELECT
    s.*,
    CASE
      WHEN s.id15 IS NULL THEN NULL
      WHEN LENGTH(s.sfdc_id_trimmed) = 15
        OR UPPER(SUBSTR(s.sfdc_id_trimmed, 16, 3)) = c1.checksum_char || c2.checksum_char || c3.checksum_char
        THEN s.id15 || c1.checksum_char || c2.checksum_char || c3.checksum_char
    END AS sfdc_id_normalized
  FROM bitted AS s
  LEFT JOIN checksum_chars AS c1 ON c1.chunk_bits = s.chunk_bits_1
  LEFT JOIN checksum_chars AS c2 ON c2.chunk_bits = s.chunk_bits_2
  LEFT JOIN checksum_chars AS c3 ON c3.chunk_bits = s.chunk_bits_3
)

SELECT
  p.id AS rds_property_id,
  CAST(p.id AS VARCHAR) AS snappt_property_id_c,
  p.name AS property_name,
  p.short_id,
  p.company_id,
  c.name AS company_name,
  p.address,
  p.city,
  p.state,
  p.zip,
  p.status,
  CASE WHEN p.deleted_at IS NOT NULL THEN 'DELETED' ELSE p.status END AS property_status,
  COALESCE(p.status = 'ACTIVE' AND p.deleted_at IS NULL, FALSE) AS is_active,
  p.sfdc_id AS sfdc_id_raw,
  p.sfdc_id_normalized AS sfdc_id,
  CASE WHEN p.sfdc_id_normalized IS NOT NULL THEN 1 ELSE 0 END AS has_valid_sfdc_id,
  COALESCE(p.sfdc_id_normalized IS NULL AND p.sfdc_id_trimmed <> '', FALSE)
    AS has_invalid_sfdc_id,
  COALESCE(f.idv_on = 1, FALSE) AS idv_enabled,
  COALESCE(f.bank_on = 1, FALSE) AS bank_linking_enabled,
  COALESCE(f.payroll_on = 1, FALSE) AS payroll_enabled,
  COALESCE(f.income_on = 1, FALSE) AS income_insights_enabled,
  COALESCE(f.idv_on = 1 OR f.bank_on = 1 OR f.payroll_on = 1 OR f.income_on = 1, FALSE)
    AS has_any_features_enabled,
  p.created_at,
  p.updated_at,
  p.deleted_at
FROM normalized AS p
LEFT JOIN features AS f ON f.property_id = p.id
LEFT JOIN companies AS c ON c.id = p.company_id
