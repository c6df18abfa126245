-- propsync state, DuckDB: the tables live in the engine file so the monitoring
-- views read them directly. Every table is append-only: a run's later states,
-- a new pilot selection or a rollback are new rows, never edits.

CREATE SEQUENCE sync_runs_event_seq;
CREATE TABLE sync_runs (
  event_id      BIGINT DEFAULT nextval('sync_runs_event_seq'),
  event_time    TIMESTAMPTZ NOT NULL,
  run_id        VARCHAR NOT NULL,
  sync          VARCHAR NOT NULL CHECK (sync IN ('create', 'update', 'all', 'rollback')),
  status        VARCHAR NOT NULL
                CHECK (status IN ('RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED', 'ABORTED')),
  pilot         VARCHAR,
  dry_run       BOOLEAN NOT NULL,
  params        JSON,
  started_at    TIMESTAMPTZ NOT NULL,
  finished_at   TIMESTAMPTZ,
  planned       BIGINT,
  attempted     BIGINT,
  succeeded     BIGINT,
  failed        BIGINT,
  created       BIGINT,
  updated       BIGINT,
  counts        JSON,
  api_calls     BIGINT,
  duration_s    DOUBLE,
  error         VARCHAR,
  host          VARCHAR NOT NULL,
  pid           INTEGER NOT NULL,
  pid_started   DOUBLE,
  version       VARCHAR
);

-- The latest event of each run is its state.
CREATE VIEW sync_runs_latest AS
SELECT * EXCLUDE (rn) FROM (
  SELECT *, row_number() OVER (PARTITION BY run_id ORDER BY event_id DESC) AS rn
  FROM sync_runs
) WHERE rn = 1;

CREATE SEQUENCE property_sync_audit_log_seq;
CREATE TABLE property_sync_audit_log (
  audit_id              BIGINT DEFAULT nextval('property_sync_audit_log_seq'),
  sync_timestamp        TIMESTAMPTZ NOT NULL,
  run_id                VARCHAR NOT NULL,
  sync_operation        VARCHAR NOT NULL CHECK (sync_operation IN ('CREATE', 'UPDATE', 'ROLLBACK')),
  sync_status           VARCHAR NOT NULL CHECK (sync_status IN ('SUCCESS', 'FAILED')),
  rds_property_id       BIGINT,
  snappt_property_id_c  VARCHAR,
  salesforce_id         VARCHAR,
  created               BOOLEAN,
  attempt               INTEGER NOT NULL,
  error_code            VARCHAR,
  error_message         VARCHAR,
  fields_written        JSON,
  before_values         JSON,
  after_values          JSON,
  api                   VARCHAR,
  job_id                VARCHAR,
  source_run_id         VARCHAR
);

CREATE SEQUENCE sync_queue_measurements_seq;
CREATE TABLE sync_queue_measurements (
  measurement_id        BIGINT DEFAULT nextval('sync_queue_measurements_seq'),
  measurement_time      TIMESTAMPTZ NOT NULL,
  properties_to_create  BIGINT NOT NULL,
  properties_to_update  BIGINT NOT NULL,
  records_with_changes  BIGINT,
  run_id                VARCHAR
);

CREATE TABLE pilot_sets (
  pilot_name            VARCHAR NOT NULL,
  selection_id          VARCHAR NOT NULL,
  queue                 VARCHAR NOT NULL CHECK (queue IN ('create', 'update')),
  rds_property_id       BIGINT,
  snappt_property_id_c  VARCHAR,
  pilot_reason          VARCHAR,
  priority              INTEGER,
  details               JSON,
  selected_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE signoffs (
  pilot_name  VARCHAR NOT NULL,
  who         VARCHAR NOT NULL,
  role        VARCHAR,
  decision    VARCHAR NOT NULL CHECK (decision IN ('APPROVED', 'REJECTED')),
  comment     VARCHAR,
  signed_at   TIMESTAMPTZ NOT NULL
);
