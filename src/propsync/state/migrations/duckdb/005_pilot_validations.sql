-- The pilot of phase 4 (append-only): each `propsync pilot run`'s pre-flight checklist,
-- the baseline it captured (the update set's Salesforce values before Sync B), and each
-- `propsync pilot validate` result. A sign-off names the validation it approves.

CREATE TABLE pilot_preflights (
  preflight_id  VARCHAR NOT NULL,
  pilot_name    VARCHAR NOT NULL,
  selection_id  VARCHAR NOT NULL,
  checked_at    TIMESTAMPTZ NOT NULL,
  passed        BOOLEAN NOT NULL,
  forced        BOOLEAN NOT NULL,
  items         JSON NOT NULL
);

CREATE TABLE pilot_baselines (
  preflight_id          VARCHAR NOT NULL,
  pilot_name            VARCHAR NOT NULL,
  captured_at           TIMESTAMPTZ NOT NULL,
  salesforce_id         VARCHAR NOT NULL,
  snappt_property_id_c  VARCHAR,
  rds_property_id       VARCHAR,
  field_values          JSON NOT NULL
);

CREATE TABLE pilot_validations (
  validation_id   VARCHAR NOT NULL,
  pilot_name      VARCHAR NOT NULL,
  selection_id    VARCHAR NOT NULL,
  preflight_id    VARCHAR,
  validated_at    TIMESTAMPTZ NOT NULL,
  passed          BOOLEAN NOT NULL,
  failed_items    INTEGER NOT NULL,
  items           JSON NOT NULL,
  run_ids         JSON,
  report_markdown VARCHAR,
  report_html     VARCHAR
);

ALTER TABLE signoffs ADD COLUMN validation_id VARCHAR;
