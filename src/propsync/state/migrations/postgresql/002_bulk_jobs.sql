-- Bulk API 2.0 ingest jobs of the sync, journalled before their data is uploaded, so
-- a run killed while Salesforce processes a job leaves a trace the next run reconciles
-- (it fetches the job's results and appends the audit rows the killed run could not).
-- Append-only: 'SUBMITTED' when the job is created, then one closing event:
-- 'RECORDED' (the run itself audited the job's records) or 'RECONCILED' (a later run
-- did, from the job's results).

CREATE TABLE sync_bulk_jobs (
  event_id      BIGSERIAL PRIMARY KEY,
  event_time    TIMESTAMPTZ NOT NULL,
  event         TEXT NOT NULL CHECK (event IN ('SUBMITTED', 'RECORDED', 'RECONCILED')),
  run_id        TEXT NOT NULL,
  queue         TEXT NOT NULL CHECK (queue IN ('create', 'update')),
  job_id        TEXT NOT NULL,
  operation     TEXT NOT NULL,
  records       BIGINT NOT NULL,
  attempt       INTEGER NOT NULL,
  submitted_at  TIMESTAMPTZ NOT NULL,
  images_file   TEXT,
  reconciled_by TEXT,
  detail        JSONB
);
CREATE INDEX sync_bulk_jobs_job ON sync_bulk_jobs (job_id, event_id);

CREATE TRIGGER sync_bulk_jobs_append_only BEFORE UPDATE OR DELETE ON sync_bulk_jobs
  FOR EACH ROW EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER sync_bulk_jobs_no_truncate BEFORE TRUNCATE ON sync_bulk_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION propsync_append_only();
