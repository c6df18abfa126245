"""The engine interface: every SQL statement passes through `execute`, so one tracer
sees them all.

An adapter says what its engine can do with class-level capability flags, which callers
read instead of asking which engine they hold; every statement that is not a model's
view (temp tables, merges, transactions, session settings, counts) is an adapter method,
so a new engine overrides what its SQL spells differently and touches no caller.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from propsync.engines.settings import SettingValue, Size
from propsync.errors import EngineError

if TYPE_CHECKING:
    import pyarrow as pa

    from propsync.config import EngineConfig

Tracer = Callable[[str, Sequence[Any] | None], None]


class Engine(ABC):
    """A SQL engine holding the RDS extract, the Salesforce extract and the views."""

    kind: ClassVar[str]  # the `[engine] kind` the registry knows the adapter by
    dialect: ClassVar[str]  # sqlglot's name of the engine's SQL dialect

    # Capability flags (callers read these, never the kind).
    # The costly models (`-- materialized: table`) are stored as tables on every build.
    materializes_tables: ClassVar[bool] = False
    # The state tables can live in the engine's own database and share its connection.
    holds_state: ClassVar[bool] = False
    # The engine has a memory limit of its own (`memory_limit_at_most` lowers it).
    supports_memory_limit: ClassVar[bool] = False
    # A DuckDB database file can be ATTACHed and read with SQL (the embedded source).
    attaches_duckdb_files: ClassVar[bool] = False

    def __init__(self, tracer: Tracer | None = None) -> None:
        self.tracer = tracer
        self._memory_limit: Size | None = None

    @classmethod
    @abstractmethod
    def from_config(
        cls, config: EngineConfig, root: Path, *, tracer: Tracer | None = None
    ) -> Engine:
        """Open the engine a config section describes; paths are relative to `root`."""

    def _trace(self, sql: str, params: Sequence[Any] | None) -> None:
        if self.tracer is not None:
            self.tracer(sql, params)

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run a statement for its effect."""

    @abstractmethod
    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query and return all rows as tuples."""

    @abstractmethod
    def dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run a query and return all rows as dicts keyed by column name."""

    @abstractmethod
    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run a query and return an Arrow table."""

    @abstractmethod
    def batches(
        self, sql: str, params: Sequence[Any] | None = None, *, batch_size: int = 100_000
    ) -> Iterator[pa.RecordBatch]:
        """Stream a query's result as Arrow record batches (bounded memory)."""

    @abstractmethod
    def load_arrow(
        self,
        table: str,
        data: pa.Table | pa.RecordBatchReader,
        *,
        mode: str = "replace",
        select: Callable[[str], str] | None = None,
        temporary: bool = False,
        ordered: bool = True,
    ) -> int:
        """Write Arrow data into a table (`replace` or `append`); return the row count.

        `select` turns the name under which the data is readable into the query whose
        rows are written (casts, column order), so a stream is written once instead of
        staged and copied; `temporary` makes a `replace` table live only as long as the
        connection (a staging table that never reaches the file); `ordered=False` says
        the rows' order means nothing (a source read without ORDER BY), which lets the
        engine write them in parallel."""

    @abstractmethod
    def table_exists(self, name: str) -> bool:
        """Whether a table or view of that name exists."""

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    # -- statements that are not views ---------------------------------------------

    def relation_type(self, name: str) -> str | None:
        """'TABLE' or 'VIEW' for an existing relation of that name, else None."""
        found = self.rows(
            "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [name]
        )
        for (table_type,) in found:
            text = str(table_type).upper()
            return "VIEW" if "VIEW" in text else "TABLE"
        return None

    def drop(self, name: str, kind: str = "TABLE") -> None:
        """Drop a table (or `kind="VIEW"`) if it exists."""
        if kind not in ("TABLE", "VIEW"):
            raise ValueError(f"cannot drop a {kind!r}")
        self.execute(f"DROP {kind} IF EXISTS {name}")

    def create_table(
        self,
        name: str,
        query: str,
        params: Sequence[Any] | None = None,
        *,
        derived: bool = False,
    ) -> None:
        """Create or replace a table from a query. `derived` says it is rebuilt from
        other tables on every build, so the engine may write it the fastest way."""
        self.execute(f"CREATE OR REPLACE TABLE {name} AS\n{query}", params)

    def create_temp_table(self, name: str, query: str, params: Sequence[Any] | None = None) -> int:
        """Materialise a query's rows into a table living as long as the connection;
        return its row count."""
        self.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}", params)
        return int(self.scalar(f"SELECT count(*) FROM {name}") or 0)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one transaction: committed when it ends, rolled back when
        it raises."""
        self.execute("BEGIN TRANSACTION")
        try:
            yield
            self.execute("COMMIT")
        except BaseException:
            self.execute("ROLLBACK")
            raise

    def merge_by_key(
        self,
        target: str,
        source: str,
        key: str | Sequence[str],
        *,
        select: str | None = None,
    ) -> None:
        """Replace the rows of `target` whose key is in `source` by `source`'s rows, and
        add the new ones, atomically. `select` is the query of the rows to insert when
        they are not `SELECT * FROM source` (casts, column order)."""
        columns = [key] if isinstance(key, str) else list(key)
        if len(columns) == 1:
            (k,) = columns
            match = f'"{k}" IN (SELECT "{k}" FROM {source})'
        else:
            pairs = " AND ".join(f's."{k}" = t."{k}"' for k in columns)
            match = f"EXISTS (SELECT 1 FROM {source} AS s WHERE {pairs})"
        with self.transaction():
            self.execute(f"DELETE FROM {target} AS t WHERE {match}")
            self.execute(f"INSERT INTO {target} {select or f'SELECT * FROM {source}'}")

    def delete_absent(self, target: str, keys: str, key: Sequence[str]) -> int:
        """Delete the rows of `target` whose key is not in the table `keys`; return how
        many went."""
        pairs = " AND ".join(f'k."{c}" = t."{c}"' for c in key)
        before = int(self.scalar(f"SELECT count(*) FROM {target}") or 0)
        self.execute(
            f"DELETE FROM {target} AS t WHERE NOT EXISTS (SELECT 1 FROM {keys} AS k WHERE {pairs})"
        )
        return before - int(self.scalar(f"SELECT count(*) FROM {target}") or 0)

    def count_filtered(
        self,
        table: str,
        filters: Sequence[str],
        *,
        where: str = "TRUE",
        params: Sequence[Any] | None = None,
    ) -> list[int]:
        """One pass over `table` (rows matching `where`): per filter condition, how many
        rows satisfy it, in the order given."""
        if not filters:
            return []
        counts = ", ".join(f"count(*) FILTER (WHERE {f})" for f in filters)
        row = self.rows(f"SELECT {counts} FROM {table} AS counted WHERE {where}", params)[0]
        return [int(c or 0) for c in row]

    def set_by_key(self, table: str, key: str, column: str, values: Mapping[str, str]) -> int:
        """Set `column` of the rows of `table` whose `key` is in `values` to the value
        given for it, in one statement; return how many keys were given."""
        if not values:
            return 0
        import pyarrow as pa  # heavy driver: imported on first use

        stage = f"_propsync_set_{table}"
        data = pa.table({"k": list(values), "v": list(values.values())})
        self.load_arrow(stage, data, temporary=True)
        try:
            self.execute(
                f"UPDATE {table} SET {column} = s.v FROM {stage} AS s WHERE {table}.{key} = s.k"
            )
        finally:
            self.drop(stage)
        return len(values)

    # -- session settings ------------------------------------------------------------

    def _setting(self, name: str) -> SettingValue:
        """The value a session setting has now."""
        raise EngineError(f"the {self.kind} engine has no session settings ({name})")

    def _set_setting(self, name: str, value: SettingValue) -> None:
        """Set one session setting; the adapter validates and renders the value."""
        raise EngineError(f"the {self.kind} engine has no session settings ({name})")

    @contextmanager
    def settings(self, values: Mapping[str, SettingValue]) -> Iterator[None]:
        """Run the block with these session settings (name -> Python value: a size as
        text such as '512MB', an int, a bool, a word), then put back the values they
        had, whatever the block did. Unknown settings and bad values raise EngineError."""
        previous = {name: self._setting(name) for name in values}
        try:
            for name, value in values.items():
                self._set_setting(name, value)
            yield
        finally:
            for name, value in previous.items():
                self._set_setting(name, value)

    @property
    def memory_limit(self) -> Size | None:
        """The memory limit in effect (None when the engine has none)."""
        return self._memory_limit

    @contextmanager
    def memory_limit_at_most(self, limit: str) -> Iterator[None]:
        """Run the block with the memory limit lowered to `limit` when the one in effect
        is higher (never raised), then put that one back."""
        lower, current = Size.parse(limit), self._memory_limit
        if not self.supports_memory_limit or current is None or current.bytes <= lower.bytes:
            yield
            return
        self._set_setting("memory_limit", str(lower))
        try:
            yield
        finally:
            with contextlib.suppress(EngineError):  # the engine may be closed by now
                self._set_setting("memory_limit", str(current))

    def close(self) -> None:  # noqa: B027 - optional for adapters without resources
        """Release the connection."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
