-- Alert incidents: what `propsync alerts check` opened, whom it told, and when it cleared.
-- Append-only, one row per event of an incident ('OPENED' once, when a rule starts
-- firing; per channel 'NOTIFIED' (the trigger delivered), 'RENOTIFIED' (a repeat
-- delivered after [alerts] repeat_interval), 'FAILED' (a delivery that gave up: tried
-- again at the next check) and 'RESOLVE_NOTIFIED' (the resolve message delivered);
-- 'RESOLVED' once, when the condition cleared). The state of an incident is read from its
-- events, so de-duplication holds across processes and restarts.

CREATE TABLE alert_incidents (
  event_id      BIGSERIAL PRIMARY KEY,
  event_time    TIMESTAMPTZ NOT NULL,
  incident_id   TEXT NOT NULL,
  rule          TEXT NOT NULL,
  event         TEXT NOT NULL CHECK (event IN
                  ('OPENED', 'NOTIFIED', 'RENOTIFIED', 'FAILED', 'RESOLVED', 'RESOLVE_NOTIFIED')),
  channel       TEXT,
  message       TEXT CHECK (message IN ('trigger', 'repeat', 'resolve')),
  severity      TEXT NOT NULL CHECK (severity IN ('P0', 'P1', 'P2', 'P3')),
  measured      DOUBLE PRECISION,
  threshold     DOUBLE PRECISION,
  summary       TEXT,
  attempts      INTEGER,
  error         TEXT
);
CREATE INDEX alert_incidents_incident ON alert_incidents (incident_id, event_id);
CREATE INDEX alert_incidents_open ON alert_incidents (rule, event, event_time);

CREATE TRIGGER alert_incidents_append_only BEFORE UPDATE OR DELETE ON alert_incidents
  FOR EACH ROW EXECUTE FUNCTION propsync_append_only();
CREATE TRIGGER alert_incidents_no_truncate BEFORE TRUNCATE ON alert_incidents
  FOR EACH STATEMENT EXECUTE FUNCTION propsync_append_only();
