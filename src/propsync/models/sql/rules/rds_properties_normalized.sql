-- rds_properties_normalized: one row per RDS property (every status, soft-deleted too)
-- holding what the sync queues read: rule R1, rule R2 (the sfdc_id normalisation) and the
-- property's own feature flags pivoted from property_features. rds_properties_enriched is
-- this plus the RDS columns no queue reads (address, zip, company name, raw sfdc_id,
-- status, updated_at, deleted_at): the queues read this narrower model, so the table
-- DuckDB stores is narrow too.
-- Reads the RDS schema, as rds_properties_enriched does: adapt both to another schema.
--
-- Columns
--   rds_property_id          properties.id: text in its canonical form (R9, cast at extraction)
--   snappt_property_id_c     the same text: what a Salesforce record's external id holds
--   property_name, short_id, company_id, city, state   from properties
--   property_status          'DELETED' when soft-deleted (deleted_at set), else status; so
--                            the plan's `property_status = 'ACTIVE'` is exactly rule R1
--   is_active                R1: status = 'ACTIVE' and deleted_at IS NULL, and a usable key
--   key_problem              R10: 'NULL_KEY' (no id), 'DUPLICATE_KEY' (the id is on more
--                            than one row: every such row is held back), else NULL
--   has_unknown_status       R10: status is NULL or not an upper-case word (`active`,
--                            ` ACTIVE`, `Active`: R1 is exact, so these are not ACTIVE;
--                            sync_exceptions lists them)
--   has_storable_created_at  created_at is NULL or within what a Salesforce datetime holds
--                            (1700-01-01 to 4000-12-31); else RDS_Created_At__c is left
--                            empty and sync_exceptions lists the property (R10)
--   sfdc_id                  R2: trimmed (space, tab, CR, LF); 15-char ids get their
--                            checksum suffix; 18-char ids must carry the right suffix
--                            (compared case-insensitively) and get the canonical upper-case
--                            one; empty or anything else -> NULL. Mirrors
--                            propsync.sfid.normalize.
--   has_valid_sfdc_id        1 when sfdc_id is not NULL, else 0
--   has_invalid_sfdc_id      TRUE when properties.sfdc_id holds something (after trim) that
--                            R2 rejects
--   idv_enabled, bank_linking_enabled, payroll_enabled, income_insights_enabled
--                            the property's OWN flags: TRUE when a property_features row for
--                            identity_verification / bank_linking / payroll_linking /
--                            income_insights has enabled = TRUE; missing or NULL -> FALSE
--   has_any_features_enabled OR of the four own flags
--   created_at               properties.created_at
-- materialized: table
-- The sfdc_id normalisation is the costliest step of the models, so DuckDB stores this
-- model as a table at `propsync models build` (rebuild after every RDS extraction).
CREATE OR REPLACE VIEW rds_properties_normalized AS
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
duplicate_keys AS (
  SELECT id FROM properties WHERE id IS NOT NULL GROUP BY id HAVING COUNT(*) > 1
),
shape_tested AS (
  -- Most ids are already a bare 15 or 18 letters and digits: the shape test on the raw
  -- text settles them, and only the others are trimmed (a trim with a character list
  -- costs twice the shape test).
  SELECT
    p.id,
    p.name,
    p.short_id,
    p.company_id,
    p.city,
    p.state,
    p.status,
    p.deleted_at,
    p.created_at,
    p.sfdc_id,
    regexp_matches(p.sfdc_id, '^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$') AS raw_is_shaped
  FROM properties AS p
),
trimmed AS (
  -- sfdc_id_trimmed: the raw text without leading and trailing space, tab, CR, LF.
  SELECT
    t.*,
    CASE
      WHEN t.raw_is_shaped THEN t.sfdc_id
      ELSE TRIM(t.sfdc_id, CHR(32) || CHR(9) || CHR(13) || CHR(10))
    END AS sfdc_id_trimmed
  FROM shape_tested AS t
),
shaped AS (
  -- id15: the first 15 characters of the trimmed text when it is 15 or 18 ASCII letters
  -- and digits, else NULL.
  SELECT
    t.*,
    CASE
      WHEN t.raw_is_shaped
        OR regexp_matches(t.sfdc_id_trimmed, '^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$')
        THEN SUBSTR(t.sfdc_id_trimmed, 1, 15)
    END AS id15
  FROM trimmed AS t
),
bitted AS (
  -- chunk_bits_1..3: the case bits of id15's three chunks (0 when id15 is NULL, whose
  -- result is NULL whatever the bits).
  SELECT
    *,
    CASE WHEN SUBSTR(id15, 1, 1) BETWEEN 'A' AND 'Z' THEN 1 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 2, 1) BETWEEN 'A' AND 'Z' THEN 2 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 3, 1) BETWEEN 'A' AND 'Z' THEN 4 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 4, 1) BETWEEN 'A' AND 'Z' THEN 8 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 5, 1) BETWEEN 'A' AND 'Z' THEN 16 ELSE 0 END
    AS chunk_bits_1,
    CASE WHEN SUBSTR(id15, 6, 1) BETWEEN 'A' AND 'Z' THEN 1 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 7, 1) BETWEEN 'A' AND 'Z' THEN 2 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 8, 1) BETWEEN 'A' AND 'Z' THEN 4 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 9, 1) BETWEEN 'A' AND 'Z' THEN 8 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 10, 1) BETWEEN 'A' AND 'Z' THEN 16 ELSE 0 END
    AS chunk_bits_2,
    CASE WHEN SUBSTR(id15, 11, 1) BETWEEN 'A' AND 'Z' THEN 1 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 12, 1) BETWEEN 'A' AND 'Z' THEN 2 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 13, 1) BETWEEN 'A' AND 'Z' THEN 4 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 14, 1) BETWEEN 'A' AND 'Z' THEN 8 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 15, 1) BETWEEN 'A' AND 'Z' THEN 16 ELSE 0 END
    AS chunk_bits_3
  FROM shaped
),
normalized AS (
  SELECT
    s.*,
    CASE
      WHEN s.id15 IS NULL THEN NULL
      -- An 18-char id already carrying the canonical suffix is its own normal form.
      WHEN SUBSTR(s.sfdc_id_trimmed, 16, 3) = c1.checksum_char || c2.checksum_char || c3.checksum_char
        THEN s.sfdc_id_trimmed
      WHEN LENGTH(s.sfdc_id_trimmed) = 15
        OR UPPER(SUBSTR(s.sfdc_id_trimmed, 16, 3)) = c1.checksum_char || c2.checksum_char || c3.checksum_char
        THEN s.id15 || c1.checksum_char || c2.checksum_char || c3.checksum_char
    END AS sfdc_id_normalized
  FROM bitted AS s
  LEFT JOIN sfdc_id_checksum_chars AS c1 ON c1.chunk_bits = s.chunk_bits_1
  LEFT JOIN sfdc_id_checksum_chars AS c2 ON c2.chunk_bits = s.chunk_bits_2
  LEFT JOIN sfdc_id_checksum_chars AS c3 ON c3.chunk_bits = s.chunk_bits_3
)

SELECT
  p.id AS rds_property_id,
  CAST(p.id AS VARCHAR) AS snappt_property_id_c,
  p.name AS property_name,
  p.short_id,
  p.company_id,
  p.city,
  p.state,
  CASE WHEN p.deleted_at IS NOT NULL THEN 'DELETED' ELSE p.status END AS property_status,
  COALESCE(p.status = 'ACTIVE' AND p.deleted_at IS NULL, FALSE)
    AND p.id IS NOT NULL
    AND d.id IS NULL AS is_active,
  CASE
    WHEN p.id IS NULL THEN 'NULL_KEY'
    WHEN d.id IS NOT NULL THEN 'DUPLICATE_KEY'
  END AS key_problem,
  COALESCE(NOT regexp_matches(p.status, '^[A-Z][A-Z_]*$'), TRUE) AS has_unknown_status,
  COALESCE(
    p.created_at >= CAST('1700-01-01 00:00:00+00' AS TIMESTAMPTZ)
    AND p.created_at < CAST('4001-01-01 00:00:00+00' AS TIMESTAMPTZ),
    p.created_at IS NULL
  ) AS has_storable_created_at,
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
  p.created_at
FROM normalized AS p
LEFT JOIN features AS f ON f.property_id = p.id
LEFT JOIN duplicate_keys AS d ON d.id = p.id
