"""Load the org's starting state (the generator's parquet) into the engine.

Until the Salesforce layer extracts the org, the models read `salesforce_product_property`
from here; the columns and types come from `propsync.fields`, exactly as an
extract through the API would produce them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from propsync.errors import UsageError
from propsync.fields import ENGINE_TABLE, FIELDS, engine_table_ddl

if TYPE_CHECKING:
    from propsync.engines import Engine


def load_salesforce_state_into_engine(
    engine: Engine, parquet_path: Path, *, table: str = ENGINE_TABLE, batch_size: int = 200_000
) -> int:
    """(Re)create `table` from `engine_table_ddl` and fill it from the parquet written by
    `generate`, streamed in batches; return the number of records (deleted ones included)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not parquet_path.is_file():
        raise UsageError(f"{parquet_path}: no Salesforce state file (run `propsync generate`)")
    source = pq.ParquetFile(parquet_path)
    missing = [f.name for f in FIELDS if f.name not in source.schema_arrow.names]
    if missing:
        raise UsageError(f"{parquet_path}: missing Salesforce fields {', '.join(missing)}")
    engine.execute(engine_table_ddl(table))
    names = [f.name for f in FIELDS]
    for batch in source.iter_batches(batch_size=batch_size, columns=names):
        renamed = pa.Table.from_batches([batch]).rename_columns([f.column for f in FIELDS])
        # Cast through the table's own types (double -> INTEGER count, timestamps -> TZ).
        engine.load_arrow(table, renamed, mode="append")
    return int(engine.scalar(f'SELECT count(*) FROM "{table}"'))
