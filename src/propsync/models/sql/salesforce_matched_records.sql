-- salesforce_matched_records: every non-deleted product_property__c record, with the RDS
-- property its snappt_property_id__c names and how it stands under R5-R8. Records in the
-- recycle bin (is_deleted) are left out entirely.
--
-- Matching is on the exact text of the RDS id (R5/R6: '123' names property 123). The
-- external id is unique, so Salesforce-side duplicates (R8) show up as records whose text
-- is not exactly an RDS id but names one once whitespace and leading zeros are dropped
-- ('00123', ' 123') while the exact record ('123') also exists.
--
-- Columns
--   id, snappt_property_id_c, sf_property_id_c, created_date, last_modified_date,
--   last_modified_by_id, name, and every synced *_c column   the record as extracted
--   rds_property_id          the RDS property named (exactly, or for SF_DUPLICATE after
--                            canonicalisation); NULL for an orphan
--   matched_exactly          snappt_property_id__c is exactly the text of rds_property_id
--   rds_sfdc_id              that property's normalised sfdc_id (R2)
--   live_records_for_external_id   non-deleted records with this exact snappt_property_id__c
--   sf_property_id_normalized      sf_property_id__c normalised with the same rule R2
--   match_status             'MATCHED'       the one live record for an RDS property
--                            'SF_DUPLICATE'  a second live record for an RDS property: same
--                                            text (only if uniqueness failed) or an
--                                            equivalent text beside the exact one (R8)
--                            'ORPHAN'        names no RDS property (R8)
--   has_sf_property_id_mismatch   sf_property_id__c is set (non-blank) and differs from the
--                            property's normalised sfdc_id (R8: reported in sync_exceptions;
--                            the record still expects R4 values, and sf_property_id__c is
--                            never written, R7)
CREATE OR REPLACE VIEW salesforce_matched_records AS
WITH live AS (
  SELECT
    sp.id,
    sp.snappt_property_id_c,
    sp.sf_property_id_c,
    sp.created_date,
    sp.last_modified_date,
    sp.last_modified_by_id,
    sp.name,
    sp.short_id_c,
    sp.company_id_c,
    sp.city_c,
    sp.state_c,
    sp.idv_enabled_c,
    sp.bank_linking_enabled_c,
    sp.payroll_enabled_c,
    sp.income_insights_enabled_c,
    sp.active_property_count_c,
    sp.is_multi_property_c,
    sp.rds_created_at_c,
    TRIM(sp.sf_property_id_c, CHR(32) || CHR(9) || CHR(13) || CHR(10)) AS sf_id_trimmed,
    CASE
      WHEN regexp_matches(
        TRIM(sp.snappt_property_id_c, CHR(32) || CHR(9) || CHR(13) || CHR(10)), '^[0-9]+$'
      )
        THEN COALESCE(
          NULLIF(
            regexp_replace(
              TRIM(sp.snappt_property_id_c, CHR(32) || CHR(9) || CHR(13) || CHR(10)), '^0+', ''
            ),
            ''
          ),
          '0'
        )
    END AS external_id_canonical,
    COUNT(*) OVER (PARTITION BY sp.snappt_property_id_c) AS live_records_for_external_id
  FROM salesforce_product_property AS sp
  WHERE COALESCE(sp.is_deleted, FALSE) = FALSE
),
shaped AS (
  SELECT
    *,
    CASE
      WHEN regexp_matches(sf_id_trimmed, '^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$')
        THEN SUBSTR(sf_id_trimmed, 1, 15)
    END AS id15
  FROM live
),
suffixed AS (
  -- The same checksum as rds_properties_enriched (and propsync.models.sfid).
  SELECT
    *,
    SUBSTR('ABCDEFGHIJKLMNOPQRSTUVWXYZ012345', 1
      + CASE WHEN SUBSTR(id15, 1, 1) BETWEEN 'A' AND 'Z' THEN 1 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 2, 1) BETWEEN 'A' AND 'Z' THEN 2 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 3, 1) BETWEEN 'A' AND 'Z' THEN 4 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 4, 1) BETWEEN 'A' AND 'Z' THEN 8 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 5, 1) BETWEEN 'A' AND 'Z' THEN 16 ELSE 0 END, 1)
    || SUBSTR('ABCDEFGHIJKLMNOPQRSTUVWXYZ012345', 1
      + CASE WHEN SUBSTR(id15, 6, 1) BETWEEN 'A' AND 'Z' THEN 1 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 7, 1) BETWEEN 'A' AND 'Z' THEN 2 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 8, 1) BETWEEN 'A' AND 'Z' THEN 4 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 9, 1) BETWEEN 'A' AND 'Z' THEN 8 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 10, 1) BETWEEN 'A' AND 'Z' THEN 16 ELSE 0 END, 1)
    || SUBSTR('ABCDEFGHIJKLMNOPQRSTUVWXYZ012345', 1
      + CASE WHEN SUBSTR(id15, 11, 1) BETWEEN 'A' AND 'Z' THEN 1 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 12, 1) BETWEEN 'A' AND 'Z' THEN 2 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 13, 1) BETWEEN 'A' AND 'Z' THEN 4 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 14, 1) BETWEEN 'A' AND 'Z' THEN 8 ELSE 0 END
      + CASE WHEN SUBSTR(id15, 15, 1) BETWEEN 'A' AND 'Z' THEN 16 ELSE 0 END, 1)
    AS suffix
  FROM shaped
),
normalized AS (
  SELECT
    *,
    CASE
      WHEN id15 IS NULL THEN NULL
      WHEN LENGTH(sf_id_trimmed) = 15 THEN id15 || suffix
      WHEN UPPER(SUBSTR(sf_id_trimmed, 16, 3)) = suffix THEN id15 || suffix
    END AS sf_property_id_normalized
  FROM suffixed
),
exact AS (
  SELECT
    s.*,
    e.rds_property_id,
    e.sfdc_id AS rds_sfdc_id
  FROM normalized AS s
  LEFT JOIN rds_properties_enriched AS e
    ON CAST(e.rds_property_id AS VARCHAR) = s.snappt_property_id_c
),
equivalent AS (
  -- Records whose text is not an exact RDS id but canonicalises to the text of a live,
  -- exactly matched record.
  SELECT DISTINCT d.id, x.rds_property_id, x.rds_sfdc_id
  FROM exact AS d
  INNER JOIN exact AS x
    ON x.snappt_property_id_c = d.external_id_canonical
    AND x.rds_property_id IS NOT NULL
  WHERE d.rds_property_id IS NULL
    AND d.external_id_canonical <> d.snappt_property_id_c
)
SELECT
  s.id,
  s.snappt_property_id_c,
  s.sf_property_id_c,
  s.created_date,
  s.last_modified_date,
  s.last_modified_by_id,
  s.name,
  s.short_id_c,
  s.company_id_c,
  s.city_c,
  s.state_c,
  s.idv_enabled_c,
  s.bank_linking_enabled_c,
  s.payroll_enabled_c,
  s.income_insights_enabled_c,
  s.active_property_count_c,
  s.is_multi_property_c,
  s.rds_created_at_c,
  COALESCE(s.rds_property_id, q.rds_property_id) AS rds_property_id,
  s.rds_property_id IS NOT NULL AS matched_exactly,
  COALESCE(s.rds_sfdc_id, q.rds_sfdc_id) AS rds_sfdc_id,
  s.live_records_for_external_id,
  s.sf_property_id_normalized,
  CASE
    WHEN s.rds_property_id IS NULL AND q.rds_property_id IS NULL THEN 'ORPHAN'
    WHEN s.rds_property_id IS NULL OR s.live_records_for_external_id > 1 THEN 'SF_DUPLICATE'
    ELSE 'MATCHED'
  END AS match_status,
  COALESCE(
    COALESCE(s.rds_property_id, q.rds_property_id) IS NOT NULL
    AND s.sf_id_trimmed <> ''
    AND (s.sf_property_id_normalized IS DISTINCT FROM COALESCE(s.rds_sfdc_id, q.rds_sfdc_id)),
    FALSE
  ) AS has_sf_property_id_mismatch
FROM exact AS s
LEFT JOIN equivalent AS q ON q.id = s.id
