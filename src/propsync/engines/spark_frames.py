"""Helpers of the Spark adapter: the local session, pyspark errors as EngineError, and
moving rows between Arrow and Spark DataFrames."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from propsync.errors import EngineError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession


def local_session(master: str = "local[2]", *, shuffle_partitions: int = 4) -> SparkSession:
    """A local Spark session: no UI, few shuffle partitions, UTC session time zone."""
    from pyspark.sql import SparkSession  # heavy driver: imported on first use

    return (
        SparkSession.builder.master(master)
        .appName("propsync")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionOverwriteMode", "static")
        # The driver listens on loopback only; a local session needs no other address.
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )


def run(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except EngineError:
        raise
    except Exception as exc:  # pyspark's errors (analysis, execution, Py4J) alike
        raise EngineError(short(exc)) from None


def short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:400] if text else type(exc).__name__


def aligned(df: DataFrame, target: DataFrame, *, by_name: bool) -> DataFrame:
    """`df`'s rows with `target`'s columns and types: by name (missing ones NULL, as
    INSERT BY NAME) or by position (as a plain INSERT)."""
    from pyspark.sql import functions as F  # heavy driver: imported on first use

    fields = target.schema.fields
    if not by_name:
        if len(df.columns) != len(fields):
            raise EngineError(
                f"{len(df.columns)} columns given for a table of {len(fields)} columns"
            )
        df = df.toDF(*[f.name for f in fields])
    present = {c.lower(): c for c in df.columns}
    return df.select(*[
        (F.col(f"`{present[f.name.lower()]}`") if f.name.lower() in present else F.lit(None))
        .cast(f.dataType).alias(f.name)
        for f in fields
    ])  # fmt: skip


def spark_arrow_schema(schema: pa.Schema) -> pa.Schema:
    """Arrow types Spark reads from Parquet: timestamps in microseconds, extension types
    (DuckDB's JSON) as their storage, unsigned integers widened."""
    import pyarrow as pa  # heavy driver: imported on first use

    def fix(t: pa.DataType) -> pa.DataType:
        if isinstance(t, pa.ExtensionType):
            return fix(t.storage_type)
        if pa.types.is_timestamp(t):
            return pa.timestamp("us", tz=t.tz)
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            return pa.string()
        if pa.types.is_unsigned_integer(t):
            return pa.int64()
        return t

    return pa.schema([pa.field(f.name, fix(f.type)) for f in schema])


def arrow_batches(df: DataFrame, batch_size: int) -> Iterator[pa.RecordBatch]:
    """A DataFrame's rows as Arrow batches, one partition at a time on the driver."""
    import pyarrow as pa  # heavy driver: imported on first use
    from pyspark.sql.pandas.types import to_arrow_schema  # heavy driver

    schema = to_arrow_schema(df.schema, timezone="UTC")
    chunk: list[tuple[Any, ...]] = []
    for row in run(lambda: df.toLocalIterator(prefetchPartitions=False)):
        chunk.append(tuple(row))
        if len(chunk) >= batch_size:
            yield record_batch(pa, schema, schema.names, chunk)
            chunk = []
    if chunk:
        yield record_batch(pa, schema, schema.names, chunk)


def stage_arrow(
    spark: SparkSession, data: pa.Table | pa.RecordBatchReader, folder: Path | None
) -> DataFrame:
    """Arrow data readable as a DataFrame: streamed batch by batch into a Parquet file
    in `folder` (the driver never holds a stream whole) and checkpointed, or, through
    Spark Connect (`folder` None), sent as one table."""
    import pyarrow as pa  # heavy driver: imported on first use
    import pyarrow.parquet as pq  # heavy driver

    reader = data if isinstance(data, pa.RecordBatchReader) else data.to_reader()
    schema = spark_arrow_schema(reader.schema)
    if folder is None:
        tables = [pa.Table.from_batches([b]).cast(schema) for b in reader]
        return spark.createDataFrame(pa.concat_tables(tables) if tables else schema.empty_table())
    folder.mkdir(parents=True)
    with pq.ParquetWriter(folder / "part-0.parquet", schema) as writer:
        for batch in reader:
            writer.write_batch(pa.RecordBatch.from_arrays(
                [c.cast(f.type) for c, f in zip(batch.columns, schema, strict=True)],
                schema=schema,
            ))  # fmt: skip
    return run(lambda: spark.read.parquet(str(folder)).localCheckpoint(eager=True))


def record_batch(pa: Any, schema: pa.Schema, names: list[str], rows: list[tuple[Any, ...]]) -> Any:
    columns = list(zip(*rows, strict=True))
    arrays = []
    for i, field in enumerate(schema):
        values = columns[i]
        if pa.types.is_timestamp(field.type):  # Row gives naive local times
            values = tuple(v.astimezone() if v is not None and v.tzinfo is None else v
                           for v in values)  # fmt: skip
        arrays.append(pa.array(values, type=field.type))
    return pa.RecordBatch.from_arrays(arrays, names=names)
