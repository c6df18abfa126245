-- source_exceptions: the RDS rows that cannot be synced as they are (rule R10: nothing is
-- dropped silently), one row per problem; sync_exceptions includes them, and
-- `propsync plan` lists them (this view reads only the RDS side, so it is cheap).
--
-- Columns (those of sync_exceptions)
--   exception_type   'NULL_KEY'        an RDS property without an id (properties.id NULL or
--                                      blank): not synced; named by its name and short_id
--                    'DUPLICATE_KEY'   an RDS id on more than one properties row (after
--                                      canonicalisation, R9): none of its rows is synced
--                    'UNKNOWN_STATUS'  a live RDS property whose status is NULL or not an
--                                      upper-case word: `active`, ` ACTIVE`, `Active` are not
--                                      R1's exact 'ACTIVE', so the property is not synced
--                                      as ACTIVE; listed so that someone fixes the source
--                    'UNSTORABLE_DATE' created_at outside what a Salesforce datetime holds
--                                      (before 1700, after 4000, infinity): the property
--                                      syncs with RDS_Created_At__c empty
--   salesforce_id, sf_property_id_c, sfdc_id_raw   always NULL (RDS rows)
--   snappt_property_id_c, rds_property_id, property_status, sfdc_id   the RDS property
--   reason           one sentence naming the property and the field
CREATE OR REPLACE VIEW source_exceptions AS
SELECT
  r.exception_type,
  CAST(NULL AS VARCHAR) AS salesforce_id,
  n.snappt_property_id_c,
  CAST(NULL AS VARCHAR) AS sf_property_id_c,
  n.rds_property_id,
  n.property_status,
  CAST(NULL AS VARCHAR) AS sfdc_id_raw,
  n.sfdc_id,
  CASE
    WHEN r.exception_type = 'NULL_KEY'
      THEN 'RDS property ''' || COALESCE(n.property_name, '') || ''' (short_id '
        || COALESCE(CAST(n.short_id AS VARCHAR), 'NULL')
        || '): properties.id is empty, so it has no snappt_property_id__c; not synced'
    WHEN r.exception_type = 'DUPLICATE_KEY'
      THEN 'RDS property ' || n.rds_property_id || ' (''' || COALESCE(n.property_name, '')
        || '''): properties.id ''' || n.rds_property_id
        || ''' is on more than one row; none of them is synced'
    WHEN r.exception_type = 'UNSTORABLE_DATE'
      THEN 'RDS property ' || n.rds_property_id || ': created_at '
        || CAST(n.created_at AS VARCHAR)
        || ' is outside what a Salesforce datetime holds (1700-01-01 to 4000-12-31);'
        || ' RDS_Created_At__c is left empty'
    ELSE 'RDS property ' || n.rds_property_id || ': status '
      || COALESCE('''' || n.property_status || '''', 'NULL')
      || ' is not a status propsync knows (R1 syncs exactly ''ACTIVE''); not synced as ACTIVE'
  END AS reason
FROM rds_properties_normalized AS n
INNER JOIN (
  SELECT 'NULL_KEY' AS exception_type
  UNION ALL SELECT 'DUPLICATE_KEY'
  UNION ALL SELECT 'UNSTORABLE_DATE'
  UNION ALL SELECT 'UNKNOWN_STATUS'
) AS r
  ON (r.exception_type = n.key_problem)
  OR (
    n.key_problem IS NULL
    AND r.exception_type = 'UNSTORABLE_DATE'
    AND NOT n.has_storable_created_at
  )
  OR (
    n.key_problem IS NULL
    AND r.exception_type = 'UNKNOWN_STATUS'
    AND n.has_unknown_status
    AND COALESCE(n.property_status, '') <> 'DELETED'
  )
