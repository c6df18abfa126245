"""The SQL models: one `.sql` file per view, built on the engine in dependency order.

    from propsync import models
    models.build(engine)                       # -> names of the views created
    models.show(engine, "properties_to_create", 10)
    models.compile("spark")                    # -> {view: CREATE VIEW ... in Spark SQL}
    models.checks.run_checks(engine)           # audits: zero offending rows = pass
    models.metrics.snapshot(engine)            # the plan's success metrics, computed

Rules R1-R8 (../shared/DESIGN.md) live in the SQL; `propsync.sfid` is the
Python twin of R2. `propsync.models.queues` maps Salesforce fields to queue columns.
"""

from __future__ import annotations

from propsync.models import checks, metrics, queues
from propsync.models.runner import (
    DIALECTS,
    SOURCE_TABLES,
    STATE_TABLES,
    build,
    compile,
    deploy_ddl,
    missing_inputs,
    models,
    show,
    sql_for,
    view_names,
)

__all__ = [
    "DIALECTS",
    "SOURCE_TABLES",
    "STATE_TABLES",
    "build",
    "checks",
    "compile",
    "deploy_ddl",
    "metrics",
    "missing_inputs",
    "models",
    "queues",
    "show",
    "sql_for",
    "view_names",
]
