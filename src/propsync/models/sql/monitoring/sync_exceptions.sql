-- sync_exceptions: what the syncs deliberately leave alone, each with a reason (rule R8),
-- plus RDS properties whose sfdc_id R2 rejects (they sync on their own flags, count 1), and
-- every RDS row that cannot be synced as it is (R10: nothing is dropped silently).
--
-- Columns
--   exception_type   'ORPHAN'          live record whose snappt_property_id__c names no RDS
--                                      property (or is empty); never touched
--                    'SF_DUPLICATE'    a second live record for one RDS property (see
--                                      salesforce_matched_records); never touched
--                    'ID_MISMATCH'     sf_property_id__c is set and differs from the
--                                      property's normalised sfdc_id (when RDS has one); reported only: the
--                                      record is still updated to its R4 values and
--                                      sf_property_id__c is never written (R7)
--                    'INVALID_SFDC_ID' an RDS property's sfdc_id is non-blank but not a valid
--                                      15/18-char id (R2)
--                    'NULL_KEY', 'DUPLICATE_KEY', 'UNKNOWN_STATUS', 'UNSTORABLE_DATE'
--                                      RDS rows that cannot be synced as they are (R10):
--                                      see source_exceptions
--   salesforce_id, snappt_property_id_c, sf_property_id_c   the record (NULL for the RDS
--                    rows: INVALID_SFDC_ID and the R10 types)
--   rds_property_id, property_status, sfdc_id_raw, sfdc_id   the RDS side (NULL for ORPHAN)
--   reason           one sentence naming the record and the field
CREATE OR REPLACE VIEW sync_exceptions AS
SELECT
  CASE
    WHEN m.match_status = 'ORPHAN' THEN 'ORPHAN'
    WHEN m.match_status = 'SF_DUPLICATE' THEN 'SF_DUPLICATE'
    ELSE 'ID_MISMATCH'
  END AS exception_type,
  m.id AS salesforce_id,
  m.snappt_property_id_c,
  m.sf_property_id_c,
  m.rds_property_id,
  e.property_status,
  e.sfdc_id_raw,
  e.sfdc_id,
  CASE
    WHEN m.match_status = 'ORPHAN' AND m.snappt_property_id_c IS NULL
      THEN 'record ' || m.id || ': snappt_property_id__c is empty'
    WHEN m.match_status = 'ORPHAN'
      THEN 'record ' || m.id || ': snappt_property_id__c ''' || m.snappt_property_id_c
        || ''' names no RDS property'
    WHEN m.match_status = 'SF_DUPLICATE' AND m.matched_exactly
      THEN 'record ' || m.id || ': ' || CAST(m.live_records_for_property AS VARCHAR)
        || ' live records share snappt_property_id__c ''' || m.snappt_property_id_c || ''''
    WHEN m.match_status = 'SF_DUPLICATE'
      THEN 'record ' || m.id || ': snappt_property_id__c ''' || m.snappt_property_id_c
        || ''' duplicates the record of RDS property ' || CAST(m.rds_property_id AS VARCHAR)
    ELSE 'record ' || m.id || ': sf_property_id__c ''' || m.sf_property_id_c
      || ''' differs from RDS property ' || CAST(m.rds_property_id AS VARCHAR)
      || ' sfdc_id ''' || COALESCE(e.sfdc_id, COALESCE(e.sfdc_id_raw, 'NULL')) || ''''
  END AS reason
FROM salesforce_matched_records AS m
LEFT JOIN rds_properties_enriched AS e ON e.rds_property_id = m.rds_property_id
WHERE m.match_status IN ('ORPHAN', 'SF_DUPLICATE')
  OR (m.match_status = 'MATCHED' AND m.has_sf_property_id_mismatch)

UNION ALL

SELECT
  'INVALID_SFDC_ID' AS exception_type,
  CAST(NULL AS VARCHAR) AS salesforce_id,
  CAST(e.rds_property_id AS VARCHAR) AS snappt_property_id_c,
  CAST(NULL AS VARCHAR) AS sf_property_id_c,
  e.rds_property_id,
  e.property_status,
  e.sfdc_id_raw,
  e.sfdc_id,
  'RDS property ' || CAST(e.rds_property_id AS VARCHAR) || ': sfdc_id '''
    || e.sfdc_id_raw || ''' is not a valid 15- or 18-character Salesforce id'
    AS reason
FROM rds_properties_enriched AS e
WHERE e.has_invalid_sfdc_id

UNION ALL

-- R10: the RDS rows that cannot be synced as they are (see source_exceptions).
SELECT
  exception_type,
  salesforce_id,
  snappt_property_id_c,
  sf_property_id_c,
  rds_property_id,
  property_status,
  sfdc_id_raw,
  sfdc_id,
  reason
FROM source_exceptions
