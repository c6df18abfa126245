"""Passwords never leave a DSN: redaction for messages, scrubbing of driver errors."""

from __future__ import annotations

from propsync.sources.dsn import describe, redact, scrub


def test_url_dsn() -> None:
    dsn = "postgresql://sync:p%40ss:w0rd@db.example.com:5432/product?sslmode=require"
    assert redact(dsn) == "postgresql://sync:***@db.example.com:5432/product?sslmode=require"
    assert describe(dsn) == "postgresql://db.example.com:5432/product"
    message = "FATAL: password authentication failed (p%40ss:w0rd / p@ss:w0rd)"
    assert "w0rd" not in scrub(message, dsn)


def test_key_value_dsn_and_query_password() -> None:
    kv = "host=db user=sync password='s3cr3t pw' dbname=product"
    assert "s3cr3t" not in redact(kv)
    assert "s3cr3t" not in scrub("bad password s3cr3t pw", kv)
    query = "postgresql://db/product?user=sync&password=hunter2"
    assert "hunter2" not in redact(query)
    assert redact("postgresql://db/product") == "postgresql://db/product"
