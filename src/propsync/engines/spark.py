"""Spark: a local session (`master = "local[2]"`) or a Spark Connect server (`remote =
"sc://host:port"`), running the same DuckDB-dialect SQL the models and the plan write.

Every statement passes through `spark_sql` (sqlglot, DuckDB -> Spark, plus its fixes).
Spark has no transactions and no DELETE/UPDATE on Parquet tables, so:

- A table lives in `<warehouse>/<table>/<version>/` as Parquet, registered as an
  external table of the engine's database. Every rewrite (CREATE TABLE AS, DELETE,
  UPDATE, merge by key, delete of absent keys, set by key) writes a new version beside
  the current one and re-points the catalog only after Spark's commit marker
  (`_SUCCESS`) is there: a failed write leaves the old version in place. On opening,
  the newest complete version of each folder is registered again, so the extracts
  persist across processes.
- `transaction()` keeps the versions a block replaced until it ends: on an error the
  catalog is pointed back at them (and at the previous temp tables), which is the
  rollback; an append outside a transaction adds files to the current version.
- Temp tables are checkpointed DataFrames registered as temporary views.
- Views are Spark views; their DuckDB SQL is kept in `<warehouse>/_views.json` and
  created again on opening (Spark's in-memory catalog forgets them).

Through Spark Connect the server owns the storage: tables are managed Parquet tables,
a rewrite is written under a new name and renamed over the old one (no rollback).
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from propsync.engines.base import Engine, Tracer
from propsync.engines.settings import SettingKind, SettingValue, literal
from propsync.engines.spark_frames import (
    aligned,
    arrow_batches,
    local_session,
    run,
    short,
    stage_arrow,
)
from propsync.engines.spark_sql import (
    kept_by_delete,
    number_placeholders,
    parse,
    table_name,
    to_spark,
    updated_rows,
)
from propsync.errors import EngineError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from propsync.config import EngineConfig

# Session settings propsync may set: name -> (Spark conf key, kind of value).
SETTINGS: dict[str, tuple[str, SettingKind]] = {
    "TimeZone": ("spark.sql.session.timeZone", "word"),
    "shuffle_partitions": ("spark.sql.shuffle.partitions", "int"),
}
VIEWS_FILE = "_views.json"
STAGING = "_staging"


class SparkEngine(Engine):
    kind: ClassVar[str] = "spark"
    dialect: ClassVar[str] = "spark"
    # rds_properties_normalized is stored as a Parquet table on every build.
    materializes_tables: ClassVar[bool] = True
    holds_state: ClassVar[bool] = False  # the state store stays DuckDB or PostgreSQL
    supports_memory_limit: ClassVar[bool] = False  # executors' memory is fixed at start
    attaches_duckdb_files: ClassVar[bool] = False

    def __init__(
        self,
        session: SparkSession,
        *,
        warehouse: Path | None,
        database: str = "propsync",
        owns_session: bool = False,
        tracer: Tracer | None = None,
    ) -> None:
        super().__init__(tracer)
        # Local: a session of our own (own temp views and current database) over the
        # shared SparkContext. Spark Connect keeps the session as given.
        self.remote = warehouse is None
        self.spark = session if self.remote else session.newSession()
        self._base_session, self._owns_session = session, owns_session
        self.warehouse = warehouse
        self.database = database
        self._temps: dict[str, DataFrame] = {}
        self._tables: dict[str, Path] = {}
        self._tx: dict[str, tuple[str, Any]] | None = None
        self._views: dict[str, str] = {}
        self.spark.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        self.spark.catalog.setCurrentDatabase(database)
        if warehouse is not None:
            warehouse.mkdir(parents=True, exist_ok=True)
            self._reopen()

    @classmethod
    def from_config(
        cls, config: EngineConfig, root: Path, *, tracer: Tracer | None = None
    ) -> SparkEngine:
        from pyspark.sql import SparkSession  # heavy driver: imported on first use

        if config.remote:
            session = SparkSession.builder.remote(config.remote).getOrCreate()
            return cls(session, warehouse=None, database=config.database, tracer=tracer)
        owns = SparkSession.getActiveSession() is None
        session = local_session(config.master, shuffle_partitions=config.shuffle_partitions)
        return cls(
            session,
            warehouse=root / config.warehouse,
            database=config.database,
            owns_session=owns,
            tracer=tracer,
        )

    # -- running SQL -------------------------------------------------------------------

    def _prepare(
        self, sql: str, params: Sequence[Any] | None
    ) -> tuple[exp.Expression, dict[str, Any] | None]:
        self._trace(sql, params)
        text, args = number_placeholders(sql, params)
        return parse(text), args

    def _df(self, tree: exp.Expression, args: dict[str, Any] | None) -> DataFrame:
        spark_sql = to_spark(tree)
        try:
            return self.spark.sql(spark_sql, args=args) if args else self.spark.sql(spark_sql)
        except Exception as exc:  # pyspark raises many kinds; all are the engine's
            raise EngineError(f"{short(exc)} (in: {spark_sql.strip()[:160]})") from None

    def query(self, sql: str, params: Sequence[Any] | None = None) -> DataFrame:
        """A DuckDB-dialect query as a (lazy) Spark DataFrame."""
        return self._df(*self._prepare(sql, params))

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        tree, args = self._prepare(sql, params)
        if isinstance(tree, exp.Create):
            self._create(tree, args)
        elif isinstance(tree, exp.Drop):
            kind = str(tree.args.get("kind") or "TABLE").upper()
            self.drop(table_name(tree.this.sql("duckdb")), "VIEW" if kind == "VIEW" else "TABLE")
        elif isinstance(tree, exp.Insert):
            self._insert(tree, args)
        elif isinstance(tree, exp.Delete):
            self._delete(tree, args)
        elif isinstance(tree, exp.Update):
            self._update(tree, args)
        elif isinstance(tree, (exp.Transaction, exp.Commit, exp.Rollback)):
            raise EngineError("Spark has no SQL transactions: use Engine.transaction()")
        else:
            run(lambda: self._df(tree, args).collect() if not isinstance(tree, exp.Query) else None)

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in run(self.query(sql, params).collect)]

    def dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        return [r.asDict() for r in run(self.query(sql, params).collect)]

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        return run(self.query(sql, params).toArrow)

    def batches(
        self, sql: str, params: Sequence[Any] | None = None, *, batch_size: int = 100_000
    ) -> Iterator[pa.RecordBatch]:
        # One partition at a time reaches the driver (toLocalIterator), never the result.
        yield from arrow_batches(self.query(sql, params), batch_size)

    # -- tables --------------------------------------------------------------------------

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
        if mode not in ("replace", "append"):
            raise ValueError(f"unknown load mode {mode!r}")
        name = table_name(table)
        stage = f"_propsync_load_{name}"
        staged, cleanup = self._stage(data)
        try:
            staged.createOrReplaceTempView(stage)
            query = select(f'"{stage}"') if select is not None else f'SELECT * FROM "{stage}"'
            df = self.query(query)
            if mode == "append":
                self._append(name, df, by_name=True)
            elif temporary:
                self._set_temp(name, df)
            else:
                self._write(name, df)
        finally:
            self.spark.catalog.dropTempView(stage)
            cleanup()
        return int(run(self.spark.table(name).count))

    def _stage(self, data: pa.Table | pa.RecordBatchReader) -> tuple[DataFrame, Callable[[], None]]:
        if self.warehouse is None:
            return stage_arrow(self.spark, data, None), lambda: None
        folder = self.warehouse / STAGING / uuid.uuid4().hex
        return stage_arrow(self.spark, data, folder), lambda: shutil.rmtree(folder, True)

    def table_exists(self, name: str) -> bool:
        return bool(run(lambda: self.spark.catalog.tableExists(table_name(name))))

    def relation_type(self, name: str) -> str | None:
        name = table_name(name)
        if name in self._temps:
            return "TABLE"
        if not self.table_exists(name):
            return None
        found = run(lambda: self.spark.catalog.getTable(name))
        return "VIEW" if "VIEW" in str(found.tableType).upper() else "TABLE"

    def drop(self, name: str, kind: str = "TABLE") -> None:
        if kind not in ("TABLE", "VIEW"):
            raise ValueError(f"cannot drop a {kind!r}")
        name = table_name(name)
        if kind == "VIEW":
            run(lambda: self.spark.sql(f"DROP VIEW IF EXISTS `{name}`"))
            if self._views.pop(name, None) is not None:
                self._save_views()
            return
        if name in self._temps:
            self._remember(name)
            self.spark.catalog.dropTempView(name)
            del self._temps[name]
            return
        self._remember(name)
        run(lambda: self.spark.sql(f"DROP TABLE IF EXISTS `{name}`"))
        old = self._tables.pop(name, None)
        if old is not None and self._tx is None:
            shutil.rmtree(old.parent if old.parent.name == name else old, ignore_errors=True)

    def create_table(
        self,
        name: str,
        query: str,
        params: Sequence[Any] | None = None,
        *,
        derived: bool = False,
    ) -> None:
        self._write(table_name(name), self.query(query, params))

    def create_temp_table(self, name: str, query: str, params: Sequence[Any] | None = None) -> int:
        df = self._set_temp(table_name(name), self.query(query, params))
        return int(run(df.count))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The block's table rewrites stand or fall together (see the module docstring):
        Spark has no transactions, so the replaced versions are kept until the end and
        put back on an error. Nested blocks belong to the outermost one."""
        if self._tx is not None:
            yield
            return
        self._tx = {}
        try:
            yield
        except BaseException:
            undo, self._tx = self._tx, None
            for name, (kind, old) in undo.items():
                self._restore(name, kind, old)
            raise
        undo, self._tx = self._tx, None
        for name, (kind, old) in undo.items():
            if kind == "table" and old is not None and old != self._tables.get(name):
                shutil.rmtree(old, ignore_errors=True)

    def merge_by_key(
        self,
        target: str,
        source: str,
        key: str | Sequence[str],
        *,
        select: str | None = None,
    ) -> None:
        name, keys = table_name(target), [key] if isinstance(key, str) else list(key)
        old = self.spark.table(name)
        incoming = self.query(select or f"SELECT * FROM {source}")
        source_keys = self.spark.table(table_name(source)).select(*keys).distinct()
        kept = old.join(source_keys, on=keys, how="left_anti").select(*old.columns)
        # One rewrite: the rows of other keys, then the incoming ones (INSERT's column order).
        self._write(name, kept.unionByName(aligned(incoming, old, by_name=False)))

    def delete_absent(self, target: str, keys: str, key: Sequence[str]) -> int:
        name = table_name(target)
        old = self.spark.table(name)
        before = int(run(old.count))
        present = self.spark.table(table_name(keys)).select(*key).distinct()
        self._write(name, old.join(present, on=list(key), how="left_semi").select(*old.columns))
        return before - int(run(self.spark.table(name).count))

    def set_by_key(self, table: str, key: str, column: str, values: Mapping[str, str]) -> int:
        if not values:
            return 0
        from pyspark.sql import functions as F  # heavy driver: imported on first use

        name = table_name(table)
        old = self.spark.table(name)
        stage = self.spark.createDataFrame(
            [(k, v) for k, v in values.items()], "_k string, _v string"
        )
        joined = old.join(stage, old[key] == stage["_k"], "left")
        kind = old.schema[column].dataType
        new = F.when(stage["_k"].isNotNull(), stage["_v"].cast(kind)).otherwise(old[column])
        cols = [new.alias(column) if c == column else old[c] for c in old.columns]
        self._write(name, joined.select(*cols))
        return len(values)

    # -- settings ------------------------------------------------------------------------

    def _conf(self, name: str) -> tuple[str, SettingKind]:
        found = SETTINGS.get(name)
        if found is None:
            raise EngineError(f"unknown Spark setting {name!r} (known: {', '.join(SETTINGS)})")
        return found

    def _setting(self, name: str) -> SettingValue:
        key, kind = self._conf(name)
        value = str(self.spark.conf.get(key))
        return int(value) if kind == "int" else value

    def _set_setting(self, name: str, value: SettingValue) -> None:
        key, kind = self._conf(name)
        self.spark.conf.set(key, literal(name, kind, value).strip("'"))

    def close(self) -> None:
        for name in list(self._temps):
            self.spark.catalog.dropTempView(name)
        self._temps.clear()
        if self._owns_session:
            self._base_session.stop()

    # -- storage (see the module docstring) ----------------------------------------------

    def _create(self, tree: exp.Create, args: dict[str, Any] | None) -> None:
        kind = str(tree.args.get("kind") or "").upper()
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        name = table_name(target.sql("duckdb"))
        props = tree.args.get("properties")
        temporary = bool(props and props.find(exp.TemporaryProperty))
        if kind == "VIEW":
            run(lambda: self._df(tree, args))
            self._views[name] = tree.sql("duckdb")
            self._save_views()
            return
        if kind != "TABLE":
            run(lambda: self._df(tree, args))
            return
        if tree.expression is not None:
            df = self._df(tree.expression, args)
        else:  # a column list: an empty table of those types
            columns = ", ".join(
                f"CAST(NULL AS {c.args['kind'].sql('duckdb')}) AS {c.this.sql('duckdb')}"
                for c in tree.this.expressions
                if isinstance(c, exp.ColumnDef)
            )
            df = self.query(f"SELECT {columns} LIMIT 0")
        if temporary:
            self._set_temp(name, df)
        else:
            self._write(name, df)

    def _insert(self, tree: exp.Insert, args: dict[str, Any] | None) -> None:
        target = tree.this
        columns = [c.name for c in target.expressions] if isinstance(target, exp.Schema) else []
        name = table_name((target.this if columns else target).sql("duckdb"))
        df = self._df(tree.expression, args)
        if columns:
            df = df.toDF(*columns)
        self._append(name, df, by_name=bool(columns or tree.args.get("by_name")))

    def _delete(self, tree: exp.Delete, args: dict[str, Any] | None) -> None:
        name = table_name(tree.this.sql("duckdb"))
        self._write(name, self._df(kept_by_delete(tree), args))

    def _update(self, tree: exp.Update, args: dict[str, Any] | None) -> None:
        name = table_name(tree.this.sql("duckdb"))
        old = self.spark.table(name)
        df = self._df(updated_rows(tree, old.columns), args)
        self._write(name, aligned(df, old, by_name=True))

    def _remember(self, name: str) -> None:
        """Inside a transaction, keep what `name` is before its first change."""
        if self._tx is None or name in self._tx:
            return
        if name in self._temps:
            self._tx[name] = ("temp", self._temps[name])
        else:
            self._tx[name] = ("table", self._tables.get(name))

    def _restore(self, name: str, kind: str, old: Any) -> None:
        current = self._tables.get(name)
        if name in self._temps:
            self.spark.catalog.dropTempView(name)
            del self._temps[name]
        if kind == "temp":
            self._set_temp(name, old)
            return
        if old is None:
            run(lambda: self.spark.sql(f"DROP TABLE IF EXISTS `{name}`"))
            self._tables.pop(name, None)
        else:
            self._register(name, old)
        if current is not None and current != old:
            shutil.rmtree(current, ignore_errors=True)

    def _set_temp(self, name: str, df: DataFrame) -> DataFrame:
        self._remember(name)
        done = run(lambda: df.localCheckpoint(eager=True))
        done.createOrReplaceTempView(name)
        self._temps[name] = done
        return done

    def _append(self, name: str, df: DataFrame, *, by_name: bool) -> None:
        old = self.spark.table(name)
        new = aligned(df, old, by_name=by_name)
        if name in self._temps:
            self._set_temp(name, self._temps[name].unionByName(new))
        elif self.warehouse is None:
            run(lambda: new.write.mode("append").insertInto(name))
        elif self._tx is not None:  # a rewrite, so that a rollback can put the old back
            self._write(name, old.unionByName(new))
        else:
            run(lambda: new.write.mode("append").parquet(str(self._tables[name])))
            self.spark.sql(f"REFRESH TABLE `{name}`")

    def _write(self, name: str, df: DataFrame) -> None:
        """Replace a table's rows by a DataFrame's (which may read the table itself)."""
        if name in self._temps:
            self._set_temp(name, df)
            return
        self._remember(name)
        if self.warehouse is None:
            staged = f"{name}__propsync_new"
            run(lambda: df.write.mode("overwrite").format("parquet").saveAsTable(staged))
            self.spark.sql(f"DROP TABLE IF EXISTS `{name}`")
            self.spark.sql(f"ALTER TABLE `{staged}` RENAME TO `{name}`")
            return
        version = self.warehouse / name / f"v{time.time_ns()}"
        run(lambda: df.write.mode("errorifexists").parquet(str(version)))
        old = self._tables.get(name)
        self._register(name, version)
        if old is not None and self._tx is None:
            shutil.rmtree(old, ignore_errors=True)

    def _register(self, name: str, location: Path) -> None:
        self.spark.sql(f"DROP TABLE IF EXISTS `{name}`")
        self.spark.sql(f"CREATE TABLE `{name}` USING parquet LOCATION '{location.as_posix()}'")
        self._tables[name] = location

    def _reopen(self) -> None:
        """Register the newest complete version of every table folder, then the views."""
        assert self.warehouse is not None
        shutil.rmtree(self.warehouse / STAGING, ignore_errors=True)
        for folder in sorted(p for p in self.warehouse.iterdir() if p.is_dir()):
            done = sorted(v for v in folder.iterdir() if (v / "_SUCCESS").exists())
            for stale in (v for v in folder.iterdir() if v.is_dir() and v not in done[-1:]):
                shutil.rmtree(stale, ignore_errors=True)
            if done:
                self._register(folder.name, done[-1])
        views = self.warehouse / VIEWS_FILE
        saved: dict[str, str] = json.loads(views.read_text()) if views.exists() else {}
        for sql in saved.values():
            try:
                self.execute(sql)
            except EngineError:  # an input table is gone: the next build makes it again
                continue

    def _save_views(self) -> None:
        if self.warehouse is not None:
            (self.warehouse / VIEWS_FILE).write_text(json.dumps(self._views, indent=1))
