-- sfdc_id_checksum_chars: the alphabet of Salesforce's 15 -> 18 character id checksum
-- (mirrors propsync.sfid). Per 5-character chunk of a 15-character id, bit i is set
-- when chunk position i is an upper-case letter; the 5-bit value picks one of 'A'..'Z',
-- '0'..'5'. rds_properties_normalized and salesforce_matched_records compute the bits once
-- per row in a projection and look the characters up here: the join keeps the optimiser
-- from copying the bit expression into every place the id is used (measured 5x slower at
-- 1M rows).
--
-- Columns
--   chunk_bits     0..31
--   checksum_char  the checksum character for those bits
CREATE OR REPLACE VIEW sfdc_id_checksum_chars AS
WITH bits AS (
  SELECT 0 AS v
  UNION ALL
  SELECT 1 AS v
)
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
