"""The engine interface: every SQL statement passes through `execute`, so one tracer
sees them all."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

Tracer = Callable[[str, Sequence[Any] | None], None]


class Engine(ABC):
    """A SQL engine holding the RDS extract, the Salesforce extract and the views."""

    dialect: str

    def __init__(self, tracer: Tracer | None = None) -> None:
        self.tracer = tracer

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

    @contextmanager
    def settings(self, values: dict[str, str]) -> Iterator[None]:
        """Run the block with these session settings (name -> SQL literal), then put
        back the values they had, whatever the block did."""
        previous = {name: self.scalar(f"SELECT current_setting('{name}')") for name in values}
        try:
            for name, value in values.items():
                self.execute(f"SET {name} = {value}")
            yield
        finally:
            for name, value in previous.items():
                literal = str(value).replace("'", "''")
                self.execute(f"SET {name} = '{literal}'")

    def close(self) -> None:  # noqa: B027 - optional for adapters without resources
        """Release the connection."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
