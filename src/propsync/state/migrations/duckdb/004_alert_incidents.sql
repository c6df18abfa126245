-- Alert incidents: what `propsync alerts check` opened, whom it told, and when it cleared.
-- Append-only, one row per event of an incident ('OPENED' once, when a rule starts
-- firing; per channel 'NOTIFIED' (the trigger delivered), 'RENOTIFIED' (a repeat
-- delivered after [alerts] repeat_interval), 'FAILED' (a delivery that gave up: tried
-- again at the next check) and 'RESOLVE_NOTIFIED' (the resolve message delivered);
-- 'RESOLVED' once, when the condition cleared). The state of an incident is read from its
-- events, so de-duplication holds across processes and restarts.

CREATE SEQUENCE alert_incidents_seq;
CREATE TABLE alert_incidents (
  event_id      BIGINT DEFAULT nextval('alert_incidents_seq'),
  event_time    TIMESTAMPTZ NOT NULL,
  incident_id   VARCHAR NOT NULL,
  rule          VARCHAR NOT NULL,
  event         VARCHAR NOT NULL CHECK (event IN
                  ('OPENED', 'NOTIFIED', 'RENOTIFIED', 'FAILED', 'RESOLVED', 'RESOLVE_NOTIFIED')),
  channel       VARCHAR,
  message       VARCHAR CHECK (message IN ('trigger', 'repeat', 'resolve')),
  severity      VARCHAR NOT NULL CHECK (severity IN ('P0', 'P1', 'P2', 'P3')),
  measured      DOUBLE,
  threshold     DOUBLE,
  summary       VARCHAR,
  attempts      INTEGER,
  error         VARCHAR
);
