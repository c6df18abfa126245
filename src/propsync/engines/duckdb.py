"""DuckDB, the embedded default engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import duckdb
import pyarrow as pa

from propsync.engines.base import Engine, Tracer
from propsync.engines.settings import SettingKind, SettingValue, Size, literal
from propsync.errors import EngineError

if TYPE_CHECKING:
    from propsync.config import EngineConfig

# The session settings propsync sets, and what kind of value each takes.
SETTINGS: dict[str, SettingKind] = {
    "memory_limit": "size",
    "threads": "int",
    "preserve_insertion_order": "bool",
    "force_compression": "word",
    "TimeZone": "word",
}
# A derived table rebuilt on every build: skipping compression and insertion order
# halves the write (23 s -> 12 s at 10M properties on 2 cores).
DERIVED_TABLE_SETTINGS: dict[str, SettingValue] = {
    "force_compression": "uncompressed",
    "preserve_insertion_order": False,
}


class DuckDBEngine(Engine):
    kind: ClassVar[str] = "duckdb"
    dialect: ClassVar[str] = "duckdb"
    materializes_tables: ClassVar[bool] = True
    holds_state: ClassVar[bool] = True
    supports_memory_limit: ClassVar[bool] = True
    attaches_duckdb_files: ClassVar[bool] = True

    def __init__(
        self,
        path: Path | str = ":memory:",
        *,
        threads: int = 2,
        memory_limit: str = "4GB",
        tracer: Tracer | None = None,
        read_only: bool = False,
    ) -> None:
        super().__init__(tracer)
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise EngineError(f"cannot open DuckDB database {self.path}: {exc}") from None
        self._set_setting("threads", threads)
        self._set_setting("memory_limit", memory_limit)
        self._set_setting("TimeZone", "UTC")

    @classmethod
    def from_config(
        cls, config: EngineConfig, root: Path, *, tracer: Tracer | None = None
    ) -> DuckDBEngine:
        return cls(
            root / config.path,
            threads=config.threads,
            memory_limit=config.memory_limit,
            tracer=tracer,
        )

    def _run(self, sql: str, params: Sequence[Any] | None) -> duckdb.DuckDBPyConnection:
        self._trace(sql, params)
        try:
            return self.con.execute(sql, list(params) if params is not None else None)
        except duckdb.Error as exc:
            first = sql.strip().splitlines()[0][:120] if sql.strip() else sql
            raise EngineError(f"{exc} (in: {first})") from None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self._run(sql, params)

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self._run(sql, params).fetchall()

    def dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        cur = self._run(sql, params)
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def _relation(self, sql: str, params: Sequence[Any] | None) -> duckdb.DuckDBPyRelation:
        # A relation streams its result; a DB-API cursor would copy every row first.
        self._trace(sql, params)
        try:
            return self.con.sql(sql, params=list(params) if params is not None else None)
        except duckdb.Error as exc:
            raise EngineError(f"{exc} (in: {sql.strip()[:120]})") from None

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        try:
            return self._relation(sql, params).to_arrow_table()
        except duckdb.Error as exc:
            raise EngineError(str(exc)) from None

    def batches(
        self, sql: str, params: Sequence[Any] | None = None, *, batch_size: int = 100_000
    ) -> Iterator[pa.RecordBatch]:
        try:
            reader = self._relation(sql, params).to_arrow_reader(batch_size)
            yield from reader
        except duckdb.Error as exc:
            raise EngineError(str(exc)) from None

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
        name = f"_propsync_load_{table}"
        query = select(f'"{name}"') if select is not None else f'SELECT * FROM "{name}"'
        if mode == "replace":
            kind = "TEMP TABLE" if temporary else "TABLE"
            statement = f'CREATE OR REPLACE {kind} "{table}" AS {query}'
        elif mode == "append":
            statement = f'INSERT INTO "{table}" BY NAME {query}'
        else:
            raise ValueError(f"unknown load mode {mode!r}")
        # Keeping the order of a stream makes DuckDB write it on one thread: the 1M
        # properties of a PostgreSQL extraction load in 2.7 s instead of 2.9-3.8 s.
        unordered: dict[str, SettingValue] = {} if ordered else {"preserve_insertion_order": False}
        self.con.register(name, data)
        try:
            with self.settings(unordered):
                self.execute(statement)
        finally:
            self.con.unregister(name)
        return int(self.scalar(f'SELECT count(*) FROM "{table}"'))

    def table_exists(self, name: str) -> bool:
        return bool(
            self.scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
            )
        )

    def create_table(
        self,
        name: str,
        query: str,
        params: Sequence[Any] | None = None,
        *,
        derived: bool = False,
    ) -> None:
        with self.settings(DERIVED_TABLE_SETTINGS if derived else {}):
            super().create_table(name, query, params)

    def _kind_of(self, name: str) -> SettingKind:
        kind = SETTINGS.get(name)
        if kind is None:
            raise EngineError(f"unknown DuckDB setting {name!r} (known: {', '.join(SETTINGS)})")
        return kind

    def _setting(self, name: str) -> SettingValue:
        self._kind_of(name)
        if name == "memory_limit" and self._memory_limit is not None:
            # DuckDB shows a limit rounded ('4GB' -> '3.7 GiB'): put back the one set.
            return str(self._memory_limit)
        value = self.scalar("SELECT current_setting(?)", [name])
        return value if isinstance(value, bool | int) else str(value)

    def _set_setting(self, name: str, value: SettingValue) -> None:
        kind = self._kind_of(name)
        self.execute(f"SET {name} = {literal(name, kind, value)}")
        if name == "memory_limit":
            self._memory_limit = Size.parse(str(value))

    def close(self) -> None:
        self.con.close()
