"""Build the SQL models in dependency order, show a view, and compile them for Spark.

Every model is a `.sql` file under `propsync/models/sql/<role>/` (`rules/`: the
business rules R1-R4 and the matching; `queues/`: the two write queues and the row
queries the sync reads from them; `monitoring/`: reports and dashboards) holding one
`CREATE OR REPLACE VIEW <name> AS ...` statement written in the portable DuckDB subset
(see docs/ARCHITECTURE.md). The folder only sorts the files for readers: dependencies
are read from the SQL itself with sqlglot. A file named `<queue view>.rows.sql` is not
a model but the query of a queue's rows to write (`propsync.models.queues`).
"""

from __future__ import annotations

import functools
import graphlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from propsync.engines import spark_sql
from propsync.errors import EngineError, UsageError

if TYPE_CHECKING:
    from propsync.engines import Engine

log = logging.getLogger(__name__)

# Tables the models read. RDS and Salesforce extracts are required; the state tables
# (made by propsync.state migrations) feed only the monitoring views.
SOURCE_TABLES = ("companies", "properties", "property_features", "salesforce_product_property")
STATE_TABLES = ("property_sync_audit_log", "sync_queue_measurements")
DIALECTS = ("duckdb", "spark", "databricks")
# The folders of `models/sql/`, by role.
ROLES = ("rules", "queues", "monitoring")


# A model whose file carries this line is created as a table on DuckDB (see `build`).
MATERIALIZED_MARK = "-- materialized: table"


@dataclass(frozen=True)
class Model:
    """One view: its name, its DuckDB SQL, and the tables and views it reads.

    `materialized` models read only the RDS extract and are expensive (sfdc_id
    normalisation); on DuckDB `build` stores them as tables.
    """

    name: str
    sql: str
    reads: frozenset[str]
    materialized: bool = False


def _read_dir(folder: str) -> dict[str, str]:
    """`name -> SQL` of the `name.sql` files in a folder of the package (`a/b` nests);
    files with a second suffix (`name.rows.sql`) are left out."""
    root = resources.files("propsync.models").joinpath(*folder.split("/"))
    out = {}
    for entry in root.iterdir():
        stem = entry.name[: -len(".sql")]
        if entry.name.endswith(".sql") and "." not in stem:
            out[stem] = entry.read_text(encoding="utf-8")
    return dict(sorted(out.items()))


def read_sql(folder: str, name: str) -> str:
    """The text of one `.sql` file of the package, e.g. ("sql/queues", "x.rows")."""
    root = resources.files("propsync.models").joinpath(*folder.split("/"))
    return root.joinpath(f"{name}.sql").read_text(encoding="utf-8")


def _model_files() -> dict[str, str]:
    out: dict[str, str] = {}
    for role in ROLES:
        for name, sql in _read_dir(f"sql/{role}").items():
            if name in out:
                raise EngineError(f"model {name} is defined twice (in sql/{role}/ too)")
            out[name] = sql
    return dict(sorted(out.items()))


def _tables_read(sql: str) -> frozenset[str]:
    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    created = tree.this.name if isinstance(tree, exp.Create) else None
    names = {t.name for t in tree.find_all(exp.Table)}
    return frozenset(n for n in names if n not in ctes and n != created)


@functools.cache
def models() -> dict[str, Model]:
    """Every model, keyed by view name, in dependency order."""
    found = {
        name: Model(name, sql, _tables_read(sql), MATERIALIZED_MARK in sql)
        for name, sql in _model_files().items()
    }
    graph = {name: {d for d in m.reads if d in found} for name, m in found.items()}
    order = graphlib.TopologicalSorter(graph).static_order()
    return {name: found[name] for name in order}


def view_names() -> list[str]:
    """All view names, dependencies first."""
    return list(models())


def base_tables(view: str) -> frozenset[str]:
    """The engine tables (not views) a view needs, directly or through other views."""
    all_models = models()
    seen: set[str] = set()
    stack = [view]
    tables: set[str] = set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        for dep in all_models[name].reads:
            if dep in all_models:
                stack.append(dep)
            else:
                tables.add(dep)
    return frozenset(tables)


def missing_inputs(engine: Engine) -> dict[str, list[str]]:
    """Views that cannot be built yet, each with the engine tables it lacks."""
    present = {t: engine.table_exists(t) for t in (*SOURCE_TABLES, *STATE_TABLES)}
    out: dict[str, list[str]] = {}
    for name in models():
        lacking = sorted(t for t in base_tables(name) if not present.get(t, engine.table_exists(t)))
        if lacking:
            out[name] = lacking
    return out


def sql_for(view: str, dialect: str = "duckdb") -> str:
    """The CREATE VIEW statement of one model in an engine's dialect."""
    model = _model(view)
    if dialect == "duckdb":
        return model.sql
    return dict(_compiled(dialect))[view]


def build(engine: Engine, *, strict: bool = True, materialize: bool | None = None) -> list[str]:
    """Create or replace every view in dependency order; return the names built.

    With `strict` (the default) a missing input table raises EngineError naming it and
    the views that need it. With `strict=False` views whose inputs are missing are
    skipped (see `missing_inputs`), so the core views build before the state store exists.

    `materialize` (default: the engine's `materializes_tables`, on for DuckDB) stores the
    models marked `-- materialized: table` (rds_properties_normalized) as tables, so
    every query does not redo the sfdc_id normalisation. They reflect the RDS tables as
    of this call: call `build` again after every RDS extraction. Everything reading
    Salesforce or the state store stays a view, so Salesforce-side changes show at once.
    """
    if materialize is None:
        materialize = engine.materializes_tables
    missing = missing_inputs(engine)
    if missing and strict:
        tables = sorted({t for lacking in missing.values() for t in lacking})
        raise EngineError(
            f"cannot build the models: missing table(s) {', '.join(tables)} "
            f"(needed by {', '.join(sorted(missing))})"
        )
    built = []
    for name in models():
        if name in missing:
            log.warning("skipping view %s: missing %s", name, ", ".join(missing[name]))
            continue
        model = models()[name]
        if materialize and model.materialized:
            _create_table(engine, model)
        else:
            if engine.relation_type(name) == "TABLE":
                engine.drop(name, "TABLE")
            # The engine transpiles the portable DuckDB SQL to its own dialect.
            engine.execute(model.sql)
        built.append(name)
    return built


def _create_table(engine: Engine, model: Model) -> None:
    marker = f"CREATE OR REPLACE VIEW {model.name} AS\n"
    if marker not in model.sql:
        raise EngineError(f"model {model.name}: expected a line {marker.strip()!r}")
    body = model.sql.split(marker, 1)[1]
    if engine.relation_type(model.name) == "VIEW":
        engine.drop(model.name, "VIEW")
    # Rebuilt from the RDS extract on every build: the engine may write it its fastest way.
    engine.create_table(model.name, body, derived=True)


def show(engine: Engine, view: str, limit: int | None = 20) -> list[dict[str, Any]]:
    """Rows of one view (at most `limit`), as dicts keyed by column name."""
    _model(view)
    if limit is not None and limit < 0:
        raise UsageError(f"limit must be >= 0, got {limit}")
    sql = f"SELECT * FROM {view}" + (f" LIMIT {int(limit)}" if limit is not None else "")
    return engine.dicts(sql)


def compile(
    dialect: str,
    *,
    catalog: str | None = None,
    schema: str | None = None,
    tables: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every model's CREATE VIEW statement transpiled from DuckDB to `dialect`.

    `dialect` is one of duckdb, spark, databricks; keys are in dependency order. With
    `schema` (and `catalog`) every view is created in, and every table and view is read
    from, `catalog.schema`, except the input tables `tables` maps to a name of their
    own: `{"salesforce_product_property": "crm.salesforce.product_property"}` reads the
    warehouse's replica instead of an extract.
    """
    if dialect not in DIALECTS:
        raise UsageError(f"unknown dialect {dialect!r}; choose one of {', '.join(DIALECTS)}")
    if catalog is not None and schema is None:
        raise UsageError("a catalog needs a schema")
    if schema is None and not tables:
        return dict(_compiled(dialect))
    return {
        name: _qualified(model.sql, dialect, catalog, schema, dict(tables or {}))
        for name, model in models().items()
    }


def deploy_ddl(
    dialect: str,
    *,
    catalog: str | None = None,
    schema: str | None = None,
    tables: Mapping[str, str] | None = None,
) -> list[str]:
    """The statements that create every view in `catalog.schema` (see `compile`): the
    schema first when one is named (CREATE SCHEMA IF NOT EXISTS), then the views in
    dependency order. What `models compile --catalog C --schema S` prints and `models
    deploy` runs."""
    views = compile(dialect, catalog=catalog, schema=schema, tables=tables)
    if schema is None:
        return list(views.values())
    target = exp.Table(
        this=exp.to_identifier(schema), db=exp.to_identifier(catalog) if catalog else None
    )
    create = exp.Create(this=target, kind="SCHEMA", exists=True)
    first = create.sql(dialect=dialect)
    return [first, *views.values()]


def _qualified(
    sql: str, dialect: str, catalog: str | None, schema: str | None, tables: dict[str, str]
) -> str:
    tree = spark_sql.parse(sql)
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        if table.name in ctes and not table.db:
            continue
        if table.name in tables and table is not tree.this:  # the view made stays in schema
            mapped = exp.to_table(tables[table.name], dialect=dialect)
            if table.alias:
                mapped.set("alias", table.args["alias"])
            table.replace(mapped)
        elif schema is not None:
            table.set("db", exp.to_identifier(schema))
            table.set("catalog", exp.to_identifier(catalog) if catalog else None)
    if dialect == "duckdb":
        return tree.sql(dialect="duckdb", pretty=True, comments=False)
    return spark_sql.to_spark(tree, dialect=dialect, pretty=True)


@functools.cache
def _compiled(dialect: str) -> tuple[tuple[str, str], ...]:
    out = {}
    for name, model in models().items():
        if dialect == "duckdb":
            out[name] = model.sql
            continue
        # Header comments stay in the file; spark_sql fixes what sqlglot gets wrong.
        out[name] = spark_sql.transpile(model.sql, dialect=dialect, pretty=True)
    return tuple(out.items())


def _model(view: str) -> Model:
    all_models = models()
    if view not in all_models:
        raise UsageError(f"unknown view {view!r}; known views: {', '.join(sorted(all_models))}")
    return all_models[view]
