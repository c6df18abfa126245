-- Bulk API 2.0 ingest jobs of the sync, journalled before their data is uploaded, so
-- a run killed while Salesforce processes a job leaves a trace the next run reconciles
-- (it fetches the job's results and appends the audit rows the killed run could not).
-- Append-only: 'SUBMITTED' when the job is created, then one closing event:
-- 'RECORDED' (the run itself audited the job's records) or 'RECONCILED' (a later run
-- did, from the job's results).

CREATE SEQUENCE sync_bulk_jobs_seq;
CREATE TABLE sync_bulk_jobs (
  event_id      BIGINT DEFAULT nextval('sync_bulk_jobs_seq'),
  event_time    TIMESTAMPTZ NOT NULL,
  event         VARCHAR NOT NULL CHECK (event IN ('SUBMITTED', 'RECORDED', 'RECONCILED')),
  run_id        VARCHAR NOT NULL,
  queue         VARCHAR NOT NULL CHECK (queue IN ('create', 'update')),
  job_id        VARCHAR NOT NULL,
  operation     VARCHAR NOT NULL,
  records       BIGINT NOT NULL,
  attempt       INTEGER NOT NULL,
  submitted_at  TIMESTAMPTZ NOT NULL,
  images_file   VARCHAR,
  reconciled_by VARCHAR,
  detail        JSON
);
