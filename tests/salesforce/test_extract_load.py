"""The starting state goes into an empty org through the API, and comes back out into
the engine unchanged: types, NULLs, non-ASCII text, audit fields, and the recycle bin.
The reference is the generator's own parquet file, compared field by field."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from propsync.emulator import Emulator
from propsync.engines.duckdb import DuckDBEngine
from propsync.errors import TerminalSalesforceError
from propsync.fields import FIELDS, engine_column
from propsync.generate import generate
from propsync.salesforce.extract import extract_product_property
from propsync.salesforce.load import load_starting_state
from tests.salesforce.conftest import make_client

# Written by the org, not by the load: new Ids, and the deletion touches LastModified*.
_NOT_COMPARED = {"Id"}
_TOUCHED_BY_DELETE = {"LastModifiedDate", "LastModifiedById"}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scenario")
    truth = generate(
        scale=400, seed=3, rds_target=f"duckdb:{out / 'rds.duckdb'}", out_dir=out,
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    return truth.salesforce_parquet


@pytest.fixture(scope="module")
def loaded(scenario, tmp_path_factory):
    # The workflow is on and instant: the load must keep it off its own inserts, so the
    # records without sf_property_id__c still have none when extracted.
    emu = Emulator.start(tmp_path_factory.mktemp("org"), workflow_delay_s=0.0)
    client = make_client(emu)
    try:
        stats = load_starting_state(client, scenario)
        time.sleep(0.2)
        yield client, stats
    finally:
        client.close()
        emu.stop()


def _expected(parquet: Path) -> dict[tuple[str, bool], dict]:
    rows = pq.read_table(parquet).to_pylist()
    out = {(r["snappt_property_id__c"], bool(r["IsDeleted"])): r for r in rows}
    assert len(out) == len(rows), "the scenario's (external id, deleted) pairs are unique"
    return out


def test_load_inserts_every_record_and_deletes_the_recycle_bin(scenario, loaded):
    _client, stats = loaded
    table = pq.read_table(scenario)
    deleted = sum(1 for d in table.column("IsDeleted").to_pylist() if d)
    assert deleted > 0 and stats.failed == []
    assert stats.inserted == table.num_rows
    assert stats.deleted == deleted
    assert stats.audit_fields  # the emulator grants Set Audit Fields, as orgs can


@pytest.mark.parametrize("threshold", [10**9, 0], ids=["rest", "bulk"])
def test_extract_returns_the_starting_state(scenario, loaded, threshold):
    client, _stats = loaded
    engine = DuckDBEngine(":memory:")
    stats = extract_product_property(client, engine, bulk_threshold=threshold)
    assert stats.method == ("rest" if threshold else "bulk")
    expected = _expected(scenario)
    assert stats.rows == len(expected)
    assert stats.deleted_rows == sum(1 for _k, deleted in expected if deleted)
    got = engine.dicts("SELECT * FROM salesforce_product_property")
    assert len(got) == len(expected)
    for row in got:
        want = expected[(row["snappt_property_id_c"], row["is_deleted"])]
        assert len(row["id"]) == 18
        for f in FIELDS:
            if f.name in _NOT_COMPARED or (want["IsDeleted"] and f.name in _TOUCHED_BY_DELETE):
                continue
            value, target = row[engine_column(f.name)], want[f.name]
            if f.name == "Active_Property_Count__c" and target is not None:
                target = int(target)
            assert value == target, (want["snappt_property_id__c"], f.name, value, target)
    names = {r["name"] for r in got}
    assert any(n and not n.isascii() for n in names)  # the scenario's non-ASCII names
    described = engine.rows(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'salesforce_product_property'"
    )
    columns = {c for (c,) in described}
    assert columns == {f.column for f in FIELDS}


def test_rest_and_bulk_extracts_are_identical(loaded):
    client, _stats = loaded
    tables = []
    for threshold in (10**9, 0):
        engine = DuckDBEngine(":memory:")
        extract_product_property(client, engine, bulk_threshold=threshold)
        tables.append(engine.arrow("SELECT * FROM salesforce_product_property ORDER BY id"))
    assert tables[0].equals(tables[1])


def test_extract_replaces_the_table_and_keeps_views_working(loaded):
    client, _stats = loaded
    engine = DuckDBEngine(":memory:")
    engine.execute("CREATE TABLE salesforce_product_property AS SELECT false AS is_deleted")
    engine.execute(
        "CREATE VIEW live AS SELECT count(*) AS n FROM salesforce_product_property "
        "WHERE NOT is_deleted"
    )
    stats = extract_product_property(client, engine)
    assert engine.scalar("SELECT n FROM live") == stats.rows - stats.deleted_rows
    assert not engine.table_exists("salesforce_product_property__staging")


def test_load_refuses_an_org_that_holds_records(scenario, loaded):
    client, _stats = loaded
    with pytest.raises(TerminalSalesforceError, match="already holds"):
        load_starting_state(client, scenario)


def test_deleted_records_sharing_an_external_id_load_in_rounds(tmp_path):
    types = {"boolean": pa.bool_(), "double": pa.float64(), "datetime": pa.timestamp("us", "UTC")}
    schema = pa.schema([(f.name, types.get(f.type, pa.string())) for f in FIELDS])
    base = {f.name: None for f in FIELDS}
    rows = [
        {**base, "Name": "Old copy", "snappt_property_id__c": "77", "IsDeleted": True},
        {**base, "Name": "Older copy", "snappt_property_id__c": "77", "IsDeleted": True},
        {**base, "Name": "Live one", "snappt_property_id__c": "77", "IsDeleted": False},
        {**base, "Name": "Ünïcode", "snappt_property_id__c": "78", "IsDeleted": False},
    ]
    path = tmp_path / "state.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    emu = Emulator.start(tmp_path / "org", workflow_delay_s=0.0)
    client = make_client(emu)
    try:
        stats = load_starting_state(client, path)
        assert (stats.inserted, stats.deleted, stats.failed) == (4, 2, [])
        # after the load the workflow runs again for new records, as in the org
        client.collections("insert", [{"Name": "New", "snappt_property_id__c": "79"}])
        time.sleep(0.2)
        filled = {
            r["snappt_property_id__c"]: r["sf_property_id__c"]
            for r in client.query_all("SELECT snappt_property_id__c, sf_property_id__c "
                                      "FROM product_property__c WHERE IsDeleted = false")
        }  # fmt: skip
        assert filled["77"] is None and filled["78"] is None and filled["79"]
        got = sorted(
            (r["Name"], r["IsDeleted"])
            for r in client.query_all("SELECT Name, IsDeleted FROM product_property__c")
        )
        assert got == [("Live one", False), ("New", False), ("Old copy", True),
                       ("Older copy", True), ("Ünïcode", False)]  # fmt: skip
    finally:
        client.close()
        emu.stop()


def test_refused_records_are_named_with_code_and_field(tmp_path):
    path = tmp_path / "state.parquet"
    names = [f.name for f in FIELDS]
    table = pa.table({n: pa.array([None, None], pa.string()) for n in names if n != "IsDeleted"})
    table = table.set_column(names.index("Name"), "Name", pa.array(["x" * 81, "fine"]))
    table = table.set_column(names.index("snappt_property_id__c"), "snappt_property_id__c",
                             pa.array(["501", "502"]))  # fmt: skip
    table = table.append_column("IsDeleted", pa.array([False, False]))
    pq.write_table(table, path)
    emu = Emulator.start(tmp_path / "org", workflow_enabled=False)
    client = make_client(emu)
    try:
        with pytest.raises(TerminalSalesforceError) as info:
            load_starting_state(client, path)
        assert "snappt_property_id__c=501: STRING_TOO_LONG" in str(info.value)
        assert "(fields: Name)" in str(info.value)
        # the good record went in all the same
        assert [r["snappt_property_id__c"] for r in client.query_all(
            "SELECT snappt_property_id__c FROM product_property__c")] == ["502"]  # fmt: skip
    finally:
        client.close()
        emu.stop()
