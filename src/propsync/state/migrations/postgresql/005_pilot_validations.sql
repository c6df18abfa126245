-- The pilot of phase 4 (append-only): each `propsync pilot run`'s pre-flight checklist,
-- the baseline it captured (the update set's Salesforce values before Sync B), and each
-- `propsync pilot validate` result. A sign-off names the validation it approves.

CREATE TABLE pilot_preflights (
  preflight_id  TEXT NOT NULL,
  pilot_name    TEXT NOT NULL,
  selection_id  TEXT NOT NULL,
  checked_at    TIMESTAMPTZ NOT NULL,
  passed        BOOLEAN NOT NULL,
  forced        BOOLEAN NOT NULL,
  items         JSONB NOT NULL
);
CREATE INDEX pilot_preflights_name ON pilot_preflights (pilot_name, checked_at);

CREATE TABLE pilot_baselines (
  preflight_id          TEXT NOT NULL,
  pilot_name            TEXT NOT NULL,
  captured_at           TIMESTAMPTZ NOT NULL,
  salesforce_id         TEXT NOT NULL,
  snappt_property_id_c  TEXT,
  rds_property_id       TEXT,
  field_values          JSONB NOT NULL
);
CREATE INDEX pilot_baselines_preflight ON pilot_baselines (preflight_id);

CREATE TABLE pilot_validations (
  validation_id   TEXT NOT NULL,
  pilot_name      TEXT NOT NULL,
  selection_id    TEXT NOT NULL,
  preflight_id    TEXT,
  validated_at    TIMESTAMPTZ NOT NULL,
  passed          BOOLEAN NOT NULL,
  failed_items    INTEGER NOT NULL,
  items           JSONB NOT NULL,
  run_ids         JSONB,
  report_markdown TEXT,
  report_html     TEXT
);
CREATE INDEX pilot_validations_name ON pilot_validations (pilot_name, validated_at);

ALTER TABLE signoffs ADD COLUMN validation_id TEXT;

CREATE TRIGGER pilot_preflights_append_only BEFORE UPDATE OR DELETE ON pilot_preflights
  FOR EACH ROW EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER pilot_preflights_no_truncate BEFORE TRUNCATE ON pilot_preflights
  FOR EACH STATEMENT EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER pilot_baselines_append_only BEFORE UPDATE OR DELETE ON pilot_baselines
  FOR EACH ROW EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER pilot_baselines_no_truncate BEFORE TRUNCATE ON pilot_baselines
  FOR EACH STATEMENT EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER pilot_validations_append_only BEFORE UPDATE OR DELETE ON pilot_validations
  FOR EACH ROW EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER pilot_validations_no_truncate BEFORE TRUNCATE ON pilot_validations
  FOR EACH STATEMENT EXECUTE FUNCTION propsync_append_only();
