-- propsync state, PostgreSQL: shared by the scheduler, the dashboard and the CLI.
-- Every table is append-only, and the database enforces it: UPDATE, DELETE and
-- TRUNCATE raise an error (a run's later states, a new pilot selection or a
-- rollback are new rows, never edits).

CREATE FUNCTION propsync_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'propsync state table % is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END;
$$;

CREATE TABLE sync_runs (
  event_id      BIGSERIAL PRIMARY KEY,
  event_time    TIMESTAMPTZ NOT NULL,
  run_id        TEXT NOT NULL,
  sync          TEXT NOT NULL CHECK (sync IN ('create', 'update', 'all', 'rollback')),
  status        TEXT NOT NULL
                CHECK (status IN ('RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED', 'ABORTED')),
  pilot         TEXT,
  dry_run       BOOLEAN NOT NULL,
  params        JSONB,
  started_at    TIMESTAMPTZ NOT NULL,
  finished_at   TIMESTAMPTZ,
  planned       BIGINT,
  attempted     BIGINT,
  succeeded     BIGINT,
  failed        BIGINT,
  created       BIGINT,
  updated       BIGINT,
  counts        JSONB,
  api_calls     BIGINT,
  duration_s    DOUBLE PRECISION,
  error         TEXT,
  host          TEXT NOT NULL,
  pid           INTEGER NOT NULL,
  pid_started   DOUBLE PRECISION,
  version       TEXT
);
CREATE INDEX sync_runs_run_id ON sync_runs (run_id, event_id);

CREATE VIEW sync_runs_latest AS
SELECT DISTINCT ON (run_id) * FROM sync_runs ORDER BY run_id, event_id DESC;

CREATE TABLE property_sync_audit_log (
  audit_id              BIGSERIAL PRIMARY KEY,
  sync_timestamp        TIMESTAMPTZ NOT NULL,
  run_id                TEXT NOT NULL,
  sync_operation        TEXT NOT NULL CHECK (sync_operation IN ('CREATE', 'UPDATE', 'ROLLBACK')),
  sync_status           TEXT NOT NULL CHECK (sync_status IN ('SUCCESS', 'FAILED')),
  rds_property_id       BIGINT,
  snappt_property_id_c  TEXT,
  salesforce_id         TEXT,
  created               BOOLEAN,
  attempt               INTEGER NOT NULL,
  error_code            TEXT,
  error_message         TEXT,
  fields_written        JSONB,
  before_values         JSONB,
  after_values          JSONB,
  api                   TEXT,
  job_id                TEXT,
  source_run_id         TEXT
);
CREATE INDEX property_sync_audit_log_run ON property_sync_audit_log (run_id, audit_id);
CREATE INDEX property_sync_audit_log_time ON property_sync_audit_log (sync_timestamp);

CREATE TABLE sync_queue_measurements (
  measurement_id        BIGSERIAL PRIMARY KEY,
  measurement_time      TIMESTAMPTZ NOT NULL,
  properties_to_create  BIGINT NOT NULL,
  properties_to_update  BIGINT NOT NULL,
  records_with_changes  BIGINT,
  run_id                TEXT
);
CREATE INDEX sync_queue_measurements_time ON sync_queue_measurements (measurement_time);

CREATE TABLE pilot_sets (
  pilot_name            TEXT NOT NULL,
  selection_id          TEXT NOT NULL,
  queue                 TEXT NOT NULL CHECK (queue IN ('create', 'update')),
  rds_property_id       BIGINT,
  snappt_property_id_c  TEXT,
  pilot_reason          TEXT,
  priority              INTEGER,
  details               JSONB,
  selected_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX pilot_sets_name ON pilot_sets (pilot_name, selection_id);

CREATE TABLE signoffs (
  pilot_name  TEXT NOT NULL,
  who         TEXT NOT NULL,
  role        TEXT,
  decision    TEXT NOT NULL CHECK (decision IN ('APPROVED', 'REJECTED')),
  comment     TEXT,
  signed_at   TIMESTAMPTZ NOT NULL
);

CREATE TRIGGER sync_runs_append_only BEFORE UPDATE OR DELETE ON sync_runs
  FOR EACH ROW EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER sync_runs_no_truncate BEFORE TRUNCATE ON sync_runs
  FOR EACH STATEMENT EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON property_sync_audit_log
  FOR EACH ROW EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON property_sync_audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER queue_append_only BEFORE UPDATE OR DELETE ON sync_queue_measurements
  FOR EACH ROW EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER queue_no_truncate BEFORE TRUNCATE ON sync_queue_measurements
  FOR EACH STATEMENT EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER pilot_sets_append_only BEFORE UPDATE OR DELETE ON pilot_sets
  FOR EACH ROW EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER pilot_sets_no_truncate BEFORE TRUNCATE ON pilot_sets
  FOR EACH STATEMENT EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER signoffs_append_only BEFORE UPDATE OR DELETE ON signoffs
  FOR EACH ROW EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER signoffs_no_truncate BEFORE TRUNCATE ON signoffs
  FOR EACH STATEMENT EXECUTE FUNCTION propsync_append_only();
