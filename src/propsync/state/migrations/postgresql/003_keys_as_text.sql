-- Keys are text (R9): an RDS id may be an integer, a UUID or any text, so the state
-- tables keep it as text in its canonical form. Existing integer ids become their decimal
-- digits, which is exactly the canonical form of an integer key. (ALTER TABLE rewrites
-- the rows without firing the append-only row triggers.)
ALTER TABLE property_sync_audit_log ALTER COLUMN rds_property_id TYPE TEXT
  USING rds_property_id::text;
ALTER TABLE pilot_sets ALTER COLUMN rds_property_id TYPE TEXT
  USING rds_property_id::text;
