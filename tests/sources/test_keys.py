"""R9: keys of any type arrive in the engine as text in one canonical form (an integer as
its decimal digits, a UUID lower-case with hyphens, other text trimmed), from the real
PostgreSQL and from the embedded DuckDB source, incrementally too."""

from __future__ import annotations

from pathlib import Path

import duckdb
import psycopg
import pytest

from propsync import models
from propsync.engines.duckdb import DuckDBEngine
from propsync.fields import engine_table_ddl
from propsync.sources.embedded import extract_duckdb
from propsync.sources.postgres import extract_tables

UUID_UPPER = "9F0C2B7E-1D2A-4C1E-8F00-0123456789AB"
UUID_CANON = UUID_UPPER.lower()

# (PostgreSQL key type, the three property ids as SQL literals, what the engine must hold)
KEY_TYPES = {
    "integer": (["7", "42", "100000"], ["7", "42", "100000"]),
    "bigint": (["7", "9007199254740993", "100000"], ["7", "9007199254740993", "100000"]),
    "uuid": (
        [
            f"'{UUID_UPPER}'",
            "'00000000-0000-0000-0000-000000000001'",
            "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'",
        ],
        [
            UUID_CANON,
            "00000000-0000-0000-0000-000000000001",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        ],
    ),
    "text": (["' P-7 '", "'c1'", "'007'"], ["P-7", "c1", "007"]),
    "varchar(40)": (["E'\\tAbC\\n'", "'c1'", "'x y'"], ["AbC", "c1", "x y"]),
}


def _make_source(dsn: str, key_type: str, literals: list[str]) -> None:
    a, b, c = literals
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(
            f"CREATE TABLE companies (id {key_type} PRIMARY KEY, name text,"
            " created_at timestamptz, updated_at timestamptz)"
        )
        con.execute(
            f"CREATE TABLE properties (id {key_type} PRIMARY KEY, name text, short_id text,"
            f" company_id {key_type}, address text, city text, state text, zip text,"
            " status text, sfdc_id text, created_at timestamptz, updated_at timestamptz,"
            " deleted_at timestamptz)"
        )
        con.execute(
            f"CREATE TABLE property_features (property_id {key_type}, feature text,"
            " enabled boolean, updated_at timestamptz, PRIMARY KEY (property_id, feature))"
        )
        con.execute(f"INSERT INTO companies VALUES ({a}, 'Acme', now(), now())")
        for lit in literals:
            con.execute(
                f"INSERT INTO properties VALUES ({lit}, 'P', 'S', {a}, NULL, 'Austin', 'TX',"
                " NULL, 'ACTIVE', NULL, now(), now(), NULL)"
            )
        con.execute(f"INSERT INTO property_features VALUES ({c}, 'bank_linking', true, now())")
        del b


@pytest.mark.parametrize("key_type", sorted(KEY_TYPES))
def test_postgres_keys_arrive_as_canonical_text(pg_dsn: str, key_type: str) -> None:
    literals, canonical = KEY_TYPES[key_type]
    _make_source(pg_dsn, key_type, literals)
    engine = DuckDBEngine()
    extract_tables(pg_dsn, engine)
    assert sorted(r[0] for r in engine.rows("SELECT id FROM properties")) == sorted(canonical)
    assert engine.rows("SELECT DISTINCT company_id FROM properties") == [(canonical[0],)]
    assert engine.rows("SELECT id FROM companies") == [(canonical[0],)]
    assert engine.rows("SELECT property_id FROM property_features") == [(canonical[2],)]
    types = dict(
        engine.rows(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_name = 'properties'"
        )
    )
    assert types["id"] == types["company_id"] == "VARCHAR"
    # Incremental: a changed row and the key sweep read the same canonical text, so
    # nothing is deleted or doubled.
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute(
            f"UPDATE properties SET name = 'Q', updated_at = now() WHERE id = {literals[0]}"
        )
    stats = extract_tables(pg_dsn, engine, full=False)
    assert stats.tables["properties"].mode == "incremental"
    assert stats.tables["properties"].rows_deleted == 0
    assert engine.rows("SELECT id, name FROM properties ORDER BY name DESC LIMIT 1") == [
        (canonical[0], "Q")
    ]
    assert engine.scalar("SELECT count(*) FROM properties") == 3


def test_postgres_empty_text_key_is_null(pg_dsn: str) -> None:
    _make_source(pg_dsn, "text", ["'   '", "'b'", "'c'"])
    engine = DuckDBEngine()
    extract_tables(pg_dsn, engine)
    assert engine.rows("SELECT id FROM properties ORDER BY id NULLS FIRST") == [
        (None,),
        ("b",),
        ("c",),
    ]


def _duckdb_source(path: Path, key_type: str, ids: list[str]) -> None:
    con = duckdb.connect(str(path))
    con.execute(
        f"CREATE TABLE companies (id {key_type}, name VARCHAR, created_at TIMESTAMPTZ,"
        " updated_at TIMESTAMPTZ)"
    )
    con.execute(
        f"CREATE TABLE properties (id {key_type}, name VARCHAR, short_id VARCHAR,"
        f" company_id {key_type}, address VARCHAR, city VARCHAR, state VARCHAR, zip VARCHAR,"
        " status VARCHAR, sfdc_id VARCHAR, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,"
        " deleted_at TIMESTAMPTZ)"
    )
    con.execute(
        f"CREATE TABLE property_features (property_id {key_type}, feature VARCHAR,"
        " enabled BOOLEAN, updated_at TIMESTAMPTZ)"
    )
    con.execute(
        f"INSERT INTO companies VALUES (CAST(? AS {key_type}), 'Acme', now(), now())", [ids[0]]
    )
    for pid in ids:
        con.execute(
            f"INSERT INTO properties VALUES (CAST(? AS {key_type}), 'P', 'S',"
            f" CAST(? AS {key_type}), NULL, 'Austin', 'TX', NULL, 'ACTIVE', NULL, now(), now(),"
            " NULL)",
            [pid, ids[0]],
        )
    con.execute(
        f"INSERT INTO property_features VALUES (CAST(? AS {key_type}), 'bank_linking', true,"
        " now())",
        [ids[1]],
    )
    con.close()


@pytest.mark.parametrize(
    ("key_type", "ids", "canonical"),
    [
        ("INTEGER", ["7", "42"], ["7", "42"]),
        (
            "UUID",
            [UUID_UPPER, "00000000-0000-0000-0000-000000000001"],
            [UUID_CANON, "00000000-0000-0000-0000-000000000001"],
        ),
        ("VARCHAR", [" c1 ", "007"], ["c1", "007"]),
    ],
)
@pytest.mark.parametrize("attach", [True, False])
def test_duckdb_source_keys_arrive_as_canonical_text(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    key_type: str,
    ids: list[str],
    canonical: list[str],
    attach: bool,
) -> None:
    path = tmp_path / "rds.duckdb"
    _duckdb_source(path, key_type, ids)
    if not attach:  # the Arrow path other engines take
        monkeypatch.setattr(DuckDBEngine, "attaches_duckdb_files", False)
    engine = DuckDBEngine()
    extract_duckdb(path, engine)
    assert sorted(r[0] for r in engine.rows("SELECT id FROM properties")) == sorted(canonical)
    assert engine.rows("SELECT DISTINCT company_id FROM properties") == [(canonical[0],)]
    assert engine.rows("SELECT property_id FROM property_features") == [(canonical[1],)]


def test_postgres_bad_rows_reach_the_exceptions(pg_dsn: str) -> None:
    """R10 from a PostgreSQL source without a primary key: a NULL and a duplicate key, dates
    Salesforce cannot store (infinity, year 0001, past 9999) arrive intact and are listed."""
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute(
            "CREATE TABLE companies (id integer, name text, created_at timestamptz,"
            " updated_at timestamptz)"
        )
        con.execute(
            "CREATE TABLE properties (id text, name text, short_id text, company_id integer,"
            " address text, city text, state text, zip text, status text, sfdc_id text,"
            " created_at timestamptz, updated_at timestamptz, deleted_at timestamptz)"
        )
        con.execute(
            "CREATE TABLE property_features (property_id text, feature text, enabled boolean,"
            " updated_at timestamptz)"
        )
        con.execute("INSERT INTO companies VALUES (1, 'Acme', now(), now())")
        for pid, status, created in (
            ("ok", "ACTIVE", "2024-01-01"),
            (None, "ACTIVE", "2024-01-01"),
            ("twin", "ACTIVE", "2024-01-01"),
            (" twin ", "ACTIVE", "2024-01-01"),  # the same key once trimmed (R9)
            ("inf", "ACTIVE", "infinity"),
            ("ninf", "ACTIVE", "-infinity"),
            ("one", "ACTIVE", "0001-01-01"),
            ("far", "ACTIVE", "12000-01-01"),
            ("lower", "active", "2024-01-01"),
        ):
            con.execute(
                "INSERT INTO properties VALUES (%s, 'P', 'S', 1, NULL, 'Austin', 'TX', NULL, %s,"
                " NULL, %s::timestamptz, now(), NULL)",
                [pid, status, created],
            )
    engine = DuckDBEngine()
    extract_tables(pg_dsn, engine)
    engine.execute(engine_table_ddl())
    models.build(engine, strict=False)
    found = {
        (t, k)
        for t, k in engine.rows("SELECT exception_type, rds_property_id FROM source_exceptions")
    }
    assert found == {
        ("NULL_KEY", None),
        ("DUPLICATE_KEY", "twin"),
        ("UNSTORABLE_DATE", "inf"),
        ("UNSTORABLE_DATE", "ninf"),
        ("UNSTORABLE_DATE", "one"),
        ("UNSTORABLE_DATE", "far"),
        ("UNKNOWN_STATUS", "lower"),
    }
    created = dict(engine.rows("SELECT rds_property_id, rds_created_at FROM properties_to_create"))
    assert set(created) == {"ok", "inf", "ninf", "one", "far"}
    assert created["ok"] is not None
    assert all(created[k] is None for k in ("inf", "ninf", "one", "far"))
