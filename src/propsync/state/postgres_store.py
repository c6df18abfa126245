"""State in PostgreSQL, shared by the scheduler, the dashboard and the CLI.

Appends use COPY. Run locks are session-level advisory locks, each on its own
connection: when the holder dies, its session ends and PostgreSQL frees the lock.
The holder is named through the lock session's `application_name`
(`propsync:<run id>:<pid>@<host>`), so a refused caller learns who holds it.
The database itself refuses UPDATE, DELETE and TRUNCATE on the state tables.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from propsync.errors import LockHeld, StateError
from propsync.sources.dsn import describe, scrub
from propsync.state import migrations as mig
from propsync.state.backend import Backend
from propsync.state.locks import LockHolder, check_name, describe_holder
from propsync.state.records import from_row, now

if TYPE_CHECKING:
    from propsync.engines import Engine, Tracer

LOCK_CLASS = 7101  # first key of every propsync advisory lock (its namespace)
MIRRORED = {
    "property_sync_audit_log": ("fields_written", "before_values", "after_values"),
    "sync_queue_measurements": (),
    "sync_runs": ("params", "counts"),
}


class PostgresBackend(Backend):
    kind = "postgresql"

    def __init__(self, dsn: str, *, tracer: Tracer | None = None) -> None:
        self._dsn = dsn
        self.tracer = tracer
        self._mutex = threading.RLock()  # one connection, used by one thread at a time
        self._con = self._connect("propsync")

    def _connect(self, application_name: str) -> Any:
        import psycopg  # heavy driver: imported on first use
        from psycopg.rows import dict_row  # heavy driver

        try:
            return psycopg.connect(
                self._dsn,
                autocommit=True,
                row_factory=dict_row,
                application_name=application_name[:63],
                options="-c TimeZone=UTC",
                connect_timeout=10,
            )
        except psycopg.Error as exc:
            raise StateError(
                f"cannot connect to the state database {describe(self._dsn)}: "
                f"{scrub(str(exc).strip(), self._dsn)}"
            ) from None

    def _fail(self, exc: Exception, sql: str) -> StateError:
        first = sql.strip().splitlines()[0][:100] if sql.strip() else sql
        return StateError(f"state store: {scrub(str(exc).strip(), self._dsn)} (in: {first})")

    @staticmethod
    def _sql(sql: str, params: Sequence[Any] | None) -> str:
        return sql if params is None else sql.replace("%", "%%").replace("?", "%s")

    def _trace(self, sql: str, params: Sequence[Any] | None) -> None:
        if self.tracer is not None:
            self.tracer(sql, params)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        import psycopg  # heavy driver: imported on first use

        self._trace(sql, params)
        with self._mutex:
            try:
                self._con.execute(self._sql(sql, params), params)
            except psycopg.Error as exc:
                raise self._fail(exc, sql) from None

    def dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        import psycopg  # heavy driver: imported on first use

        self._trace(sql, params)
        with self._mutex:
            try:
                return list(self._con.execute(self._sql(sql, params), params).fetchall())
            except psycopg.Error as exc:
                raise self._fail(exc, sql) from None

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> int:
        import psycopg  # heavy driver: imported on first use

        cols = ", ".join(columns)
        sql = f"COPY {table} ({cols}) FROM STDIN"
        self._trace(sql, None)
        with self._mutex:
            try:
                with self._con.transaction(), self._con.cursor() as cur, cur.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            except psycopg.Error as exc:
                raise self._fail(exc, sql) from None
        return len(rows)

    # -- locks -------------------------------------------------------------------------
    @contextmanager
    def lock(self, name: str, run_id: str) -> Iterator[LockHolder]:
        import psycopg  # heavy driver: imported on first use

        check_name(name)
        holder = LockHolder.new(name, run_id)
        con = self._connect(f"propsync:{run_id}:{os.getpid()}@{socket.gethostname()}")
        try:
            sql = "SELECT pg_try_advisory_lock(%s, hashtext(%s)) AS ok"
            self._trace(sql, [LOCK_CLASS, name])
            try:
                got = con.execute(sql, [LOCK_CLASS, name]).fetchone()["ok"]
            except psycopg.Error as exc:
                raise self._fail(exc, sql) from None
            if not got:
                raise LockHeld(describe_holder(name, self._holder_of(name)))
            yield holder
        finally:
            con.close()  # ends the session: the lock goes with it

    def _held(self, name: str | None = None) -> list[LockHolder]:
        where = "" if name is None else " AND l.objid::bigint = (hashtext(?)::bigint & 4294967295)"
        rows = self.dicts(
            "SELECT a.application_name, a.backend_start, a.pid AS backend_pid"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            f" WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {LOCK_CLASS}"
            f" AND l.objsubid = 2{where}",
            None if name is None else [name],
        )
        holders = []
        for row in rows:
            app = row.get("application_name") or ""
            if not app.startswith("propsync:"):
                continue
            _, run_id, rest = [*app.split(":", 2), "", ""][:3]
            pid, _, host = rest.partition("@")
            holders.append(
                LockHolder(
                    run_id=run_id,
                    pid=int(pid) if pid.isdigit() else None,
                    host=host,
                    since=row["backend_start"].isoformat(timespec="seconds"),
                )
            )
        return holders

    def _holder_of(self, name: str) -> LockHolder | None:
        found = self._held(name)
        return found[0] if found else None

    def lock_holders(self) -> dict[str, LockHolder]:
        return {h.run_id: h for h in self._held()}

    # -- migrations --------------------------------------------------------------------
    def migrations(self) -> list[mig.AppliedMigration]:
        self.execute(mig.TRACKING_DDL)
        rows = self.dicts("SELECT * FROM state_migrations ORDER BY version")
        return [from_row(mig.AppliedMigration, r) for r in rows]

    def migrate(self) -> list[str]:
        import psycopg  # heavy driver: imported on first use

        done: list[str] = []
        with self._mutex:
            try:
                with self._con.transaction():
                    # Several processes may open the store at once: one migrates.
                    self.execute("SELECT pg_advisory_xact_lock(?, 0)", [LOCK_CLASS])
                    applied = {m.version: m.checksum for m in self.migrations()}
                    for migration in mig.pending("postgresql", applied):
                        self.execute(migration.sql)
                        self.execute(
                            "INSERT INTO state_migrations VALUES (?, ?, ?, ?)",
                            [migration.version, migration.name, migration.checksum, now()],
                        )
                        done.append(migration.name)
            except psycopg.Error as exc:
                raise StateError(f"state migration: {scrub(str(exc), self._dsn)}") from None
        return done

    # -- mirror ------------------------------------------------------------------------
    def mirror_to(self, engine: Engine) -> dict[str, int]:
        """Copy the audit log, queue measurements and run events into the engine
        (Arrow over ADBC, replacing the engine's copies); return row counts."""
        import adbc_driver_manager  # heavy driver: imported on first use
        import adbc_driver_postgresql.dbapi as adbc  # heavy driver

        counts: dict[str, int] = {}
        try:
            with adbc.connect(self._dsn) as con, con.cursor() as cur:
                for table, json_cols in MIRRORED.items():
                    cols = self.dicts(
                        "SELECT column_name FROM information_schema.columns"
                        " WHERE table_schema = current_schema() AND table_name = ?"
                        " ORDER BY ordinal_position",
                        [table],
                    )
                    select = ", ".join(
                        f"{c['column_name']}::text AS {c['column_name']}"
                        if c["column_name"] in json_cols
                        else c["column_name"]
                        for c in cols
                    )
                    sql = f"SELECT {select} FROM {table}"
                    self._trace(sql, None)
                    cur.execute(sql)
                    counts[table] = engine.load_arrow(table, cur.fetch_record_batch())
        except adbc_driver_manager.Error as exc:
            raise StateError(f"mirroring the state: {scrub(str(exc), self._dsn)}") from None
        # The same view the DuckDB store makes, so readers need not know the backend.
        engine.execute(
            "CREATE OR REPLACE VIEW sync_runs_latest AS SELECT * FROM sync_runs"
            " QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY event_id DESC) = 1"
        )
        return counts

    def close(self) -> None:
        with self._mutex:
            self._con.close()
