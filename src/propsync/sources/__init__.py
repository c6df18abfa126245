"""Sources: where the RDS tables come from (PostgreSQL, or the embedded DuckDB file)."""
