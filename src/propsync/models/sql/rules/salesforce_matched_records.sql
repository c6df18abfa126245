-- salesforce_matched_records: every non-deleted product_property__c record, with the RDS
-- property its snappt_property_id__c names and how it stands under R5-R8. Records in the
-- recycle bin (is_deleted) are left out entirely.
--
-- Matching is on the exact text of the RDS id, which is text in its canonical form (R9;
-- R5/R6: '123' names property 123, 'a1b2...' the property keyed on that UUID). The
-- external id is unique, so Salesforce-side duplicates (R8) show up as records whose text
-- is not exactly an RDS id but names one in the key's canonical form while the exact
-- record also exists: surrounding whitespace dropped (' 123', ' P-7 '), leading zeros
-- dropped where the text is digits only ('00123' names '123'; a text key '007' is its own
-- exact text, and '0007' names no key), and a UUID-shaped text lower-cased (Salesforce
-- compares external ids case-insensitively). A record naming a property only in that
-- equivalent form, with no exact record beside it, is an orphan (the property is queued).
--
-- Columns
--   id, snappt_property_id_c, sf_property_id_c, created_date, last_modified_date,
--   last_modified_by_id, name, and every synced *_c column   the record as extracted
--   rds_property_id          the RDS property named (exactly, or for SF_DUPLICATE after
--                            canonicalisation); NULL for an orphan
--   matched_exactly          snappt_property_id__c is exactly the text of rds_property_id
--   rds_sfdc_id              that property's normalised sfdc_id (R2)
--   live_records_for_property   live records naming the same RDS property (exactly or not)
--   sf_property_id_normalized      sf_property_id__c normalised with the same rule R2
--                            (computed for records that name an RDS property; NULL for
--                            orphans)
--   match_status             'MATCHED'       the one live record for an RDS property
--                            'SF_DUPLICATE'  a second live record for an RDS property: same
--                                            text (only if uniqueness failed) or an
--                                            equivalent text beside the exact one (R8)
--                            'ORPHAN'        names no RDS property (R8)
--   has_sf_property_id_mismatch   sf_property_id__c is set (non-blank) and differs from the
--                            property's normalised sfdc_id, which is known (not NULL) (R8: reported in sync_exceptions;
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
    sp.rds_created_at_c
  FROM salesforce_product_property AS sp
  WHERE COALESCE(sp.is_deleted, FALSE) = FALSE
),
exact AS (
  -- The exact text first (nearly every record); only the others are put in canonical form.
  SELECT
    l.*,
    e.rds_property_id AS exact_rds_property_id,
    e.sfdc_id AS exact_rds_sfdc_id,
    CASE
      WHEN e.rds_property_id IS NOT NULL THEN NULL
      WHEN regexp_matches(l.snappt_property_id_c, '^[ \t\r\n]*[0-9]+[ \t\r\n]*$')
        THEN COALESCE(
          NULLIF(LTRIM(TRIM(l.snappt_property_id_c, CHR(32) || CHR(9) || CHR(13) || CHR(10)), '0'), ''),
          '0'
        )
      WHEN regexp_matches(
        l.snappt_property_id_c,
        '^[ \t\r\n]*[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}[ \t\r\n]*$'
      )
        THEN LOWER(TRIM(l.snappt_property_id_c, CHR(32) || CHR(9) || CHR(13) || CHR(10)))
      ELSE TRIM(l.snappt_property_id_c, CHR(32) || CHR(9) || CHR(13) || CHR(10))
    END AS canonical_key
  FROM live AS l
  -- A key on more than one RDS row names no property (R10: sync_exceptions lists the rows).
  LEFT JOIN rds_properties_normalized AS e
    ON e.snappt_property_id_c = l.snappt_property_id_c AND e.key_problem IS NULL
),
matched AS (
  -- named_rds_property_id: the property the record names, exactly or in canonical form.
  SELECT
    x.*,
    x.exact_rds_property_id IS NOT NULL AS matched_exactly,
    COALESCE(x.exact_rds_property_id, c.rds_property_id) AS named_rds_property_id,
    COALESCE(x.exact_rds_sfdc_id, c.sfdc_id) AS named_rds_sfdc_id
  FROM exact AS x
  LEFT JOIN rds_properties_normalized AS c
    ON c.snappt_property_id_c = x.canonical_key AND c.key_problem IS NULL
),
counted AS (
  -- exact_records / live_records_for_property: the live records naming the same property
  -- exactly / in any form (a window, so the records are read once).
  SELECT
    m.*,
    CASE
      WHEN m.named_rds_property_id IS NULL THEN 0
      ELSE SUM(CASE WHEN m.matched_exactly THEN 1 ELSE 0 END)
        OVER (PARTITION BY m.named_rds_property_id)
    END AS exact_records,
    CASE
      WHEN m.named_rds_property_id IS NOT NULL
        THEN COUNT(*) OVER (PARTITION BY m.named_rds_property_id)
    END AS live_records_for_property,
    -- Trimmed only when the text is not already the property's id (a trim with a
    -- character list costs more than the comparison).
    CASE
      WHEN m.sf_property_id_c = m.named_rds_sfdc_id THEN m.sf_property_id_c
      ELSE TRIM(m.sf_property_id_c, CHR(32) || CHR(9) || CHR(13) || CHR(10))
    END AS sf_id_trimmed
  FROM matched AS m
),
grouped AS (
  SELECT
    c.*,
    CASE WHEN c.exact_records > 0 THEN c.named_rds_property_id END AS group_rds_property_id,
    CASE WHEN c.exact_records > 0 THEN c.named_rds_sfdc_id END AS group_rds_sfdc_id,
    COALESCE(c.sf_id_trimmed = c.named_rds_sfdc_id, FALSE) AS sf_id_is_rds_id
  FROM counted AS c
),
shaped AS (
  -- id15: the first 15 characters when the trimmed text is 15 or 18 ASCII letters and
  -- digits, else NULL; chunk_bits_1..3: the case bits of its three chunks.
  SELECT
    *,
    CASE
      WHEN NOT sf_id_is_rds_id
        AND group_rds_property_id IS NOT NULL
        AND regexp_matches(sf_id_trimmed, '^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$')
        THEN SUBSTR(sf_id_trimmed, 1, 15)
    END AS id15
  FROM grouped
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
      WHEN s.sf_id_is_rds_id THEN s.group_rds_sfdc_id
      WHEN s.id15 IS NULL THEN NULL
      WHEN LENGTH(s.sf_id_trimmed) = 15
        OR UPPER(SUBSTR(s.sf_id_trimmed, 16, 3)) = c1.checksum_char || c2.checksum_char || c3.checksum_char
        THEN s.id15 || c1.checksum_char || c2.checksum_char || c3.checksum_char
    END AS sf_property_id_normalized
  FROM bitted AS s
  LEFT JOIN sfdc_id_checksum_chars AS c1 ON c1.chunk_bits = s.chunk_bits_1
  LEFT JOIN sfdc_id_checksum_chars AS c2 ON c2.chunk_bits = s.chunk_bits_2
  LEFT JOIN sfdc_id_checksum_chars AS c3 ON c3.chunk_bits = s.chunk_bits_3
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
  s.group_rds_property_id AS rds_property_id,
  s.matched_exactly,
  s.group_rds_sfdc_id AS rds_sfdc_id,
  s.live_records_for_property,
  s.sf_property_id_normalized,
  CASE
    WHEN s.exact_records = 0 THEN 'ORPHAN'
    WHEN NOT s.matched_exactly OR s.exact_records > 1 THEN 'SF_DUPLICATE'
    ELSE 'MATCHED'
  END AS match_status,
  COALESCE(
    s.exact_records > 0
    AND s.sf_id_trimmed <> ''
    -- A property RDS knows no production id for (sfdc_id NULL) is not a mismatch: the
    -- Salesforce workflow gave its staging record one, which RDS has yet to learn.
    AND s.group_rds_sfdc_id IS NOT NULL
    AND (s.sf_property_id_normalized IS DISTINCT FROM s.group_rds_sfdc_id),
    FALSE
  ) AS has_sf_property_id_mismatch
FROM normalized AS s
