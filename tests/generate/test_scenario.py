"""The default scenario reproduces the plan's numbers, counted from the rows written."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import duckdb
import pyarrow.parquet as pq

from propsync import sfid
from propsync.fields import FIELDS
from propsync.generate import GroundTruth, generate
from propsync.generate.ids import normalize, to18
from tests.generate.conftest import NOW, duckdb_path


def test_default_scale_matches_the_plan(default_scenario: GroundTruth) -> None:
    t = default_scenario
    assert t["properties_to_create"] == 1081
    assert t["properties_to_create_with_features"] == 507
    assert t["properties_to_update"] == 7980
    assert t["properties_sharing_sfdc_id"] == 2410
    assert t["feature_mismatches"] == 799
    # ACTIVE = the two queues minus the records of non-ACTIVE properties (in the update
    # queue by R6 but not ACTIVE by R1).
    assert t["active_properties"] == 1081 + 7980 - t["records_matched_to_inactive_properties"]
    assert abs(t["active_properties"] - 9061) <= 5
    assert t["feature_mismatches_multi_property"] + t["feature_mismatches_single_property"] == 799
    assert t["feature_mismatches_multi_property"] > 100
    assert t["group_size_histogram"].keys() >= {"2", "3", "4", "5"}
    histogram = {int(k): v for k, v in t["group_size_histogram"].items()}
    assert sum(size * n for size, n in histogram.items()) == 2410
    assert sum(histogram.values()) == t["multi_property_groups"]


def test_ground_truth_json_is_what_generate_returned(default_scenario: GroundTruth) -> None:
    on_disk = json.loads(default_scenario.ground_truth_json.read_text("utf-8"))
    assert on_disk == json.loads(json.dumps(default_scenario.counts))
    assert on_disk["now"] == NOW.isoformat()


def test_counts_recomputed_independently_from_the_written_files(
    default_scenario: GroundTruth,
) -> None:
    """Recount the headline numbers from the DuckDB file and the parquet, by SQL here (a
    third implementation, beside the truth counter and the models)."""
    con = duckdb.connect(str(duckdb_path(default_scenario)), read_only=True)
    props = con.sql("SELECT id, status, sfdc_id, deleted_at FROM properties").fetchall()
    on = Counter(
        pid
        for (pid,) in con.sql("SELECT property_id FROM property_features WHERE enabled").fetchall()
    )
    rows, distinct = con.sql(
        "SELECT count(*), count(DISTINCT (property_id, feature)) FROM property_features"
    ).fetchall()[0]
    con.close()
    records = pq.read_table(default_scenario.salesforce_parquet).to_pylist()
    live = {r["snappt_property_id__c"] for r in records if not r["IsDeleted"]}
    active = {pid: sfid.normalize(raw) for pid, status, raw, gone in props
              if status == "ACTIVE" and gone is None}  # fmt: skip
    groups = Counter(n for n in active.values() if n)
    sharing = sum(size for size in groups.values() if size > 1)
    create = [pid for pid in active if str(pid) not in live]
    with_features = 0
    members: dict[str, list[int]] = {}
    for pid, n in active.items():
        if n:
            members.setdefault(n, []).append(pid)
    for pid in create:
        group = members.get(active[pid]) if active[pid] else [pid]
        with_features += any(on[m] for m in group or [pid])
    assert len(create) == default_scenario["properties_to_create"] == 1081
    assert with_features == 507
    assert sharing == 2410
    assert rows == distinct  # (property_id, feature) is unique, as PostgreSQL enforces


def test_park_kennedy(default_scenario: GroundTruth) -> None:
    pk = default_scenario["park_kennedy"]
    assert pk["sfdc_id"] == "a01Dn00000HHUanIAH" == to18("a01Dn00000HHUan")
    assert pk["active_properties"] == 2
    assert pk["expected"]["IDV_Enabled__c"] and pk["expected"]["Bank_Linking_Enabled__c"]
    records = [
        r
        for r in pq.read_table(default_scenario.salesforce_parquet).to_pylist()
        if r["sf_property_id__c"] == "a01Dn00000HHUanIAH" and not r["IsDeleted"]
    ]
    assert len(records) == 2 == pk["records_disagreeing"]
    # before the sync neither record has both flags
    assert not any(r["IDV_Enabled__c"] and r["Bank_Linking_Enabled__c"] for r in records)


def test_salesforce_state_has_the_field_contract(default_scenario: GroundTruth) -> None:
    table = pq.read_table(default_scenario.salesforce_parquet)
    assert table.column_names == [f.name for f in FIELDS]
    ids = table.column("Id").to_pylist()
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 18 and sfid.normalize(i) == i and i.startswith("a0B") for i in ids)
    live = [r for r in table.to_pylist() if not r["IsDeleted"]]
    texts = [r["snappt_property_id__c"] for r in live]
    assert len(set(texts)) == len(texts)  # the external id is unique among live records
    assert all(r["LastModifiedDate"] >= r["CreatedDate"] for r in live)
    assert all(r["CreatedDate"] <= NOW for r in live)


def test_create_queue_spans_the_pilot_strata(default_scenario: GroundTruth) -> None:
    assert default_scenario["properties_to_create_recent"] >= 10
    assert default_scenario["properties_to_create_old"] >= 10


def test_same_seed_same_bytes_other_seed_other_data(tmp_path) -> None:
    def run(name: str, seed: int) -> GroundTruth:
        out = tmp_path / name
        return generate(500, seed, rds_target=f"duckdb:{out / 'rds.duckdb'}", out_dir=out, now=NOW)

    a, b, c = run("a", 3), run("b", 3), run("c", 4)
    assert a.salesforce_parquet.read_bytes() == b.salesforce_parquet.read_bytes()
    assert a.ground_truth_json.read_text() == b.ground_truth_json.read_text()

    def dump(t: GroundTruth) -> list:
        con = duckdb.connect(str(duckdb_path(t)), read_only=True)
        try:
            return [
                con.sql(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
                for name in ("companies", "properties", "property_features")
            ]
        finally:
            con.close()

    assert dump(a) == dump(b)
    assert dump(a) != dump(c)
    assert a.salesforce_parquet.read_bytes() != c.salesforce_parquet.read_bytes()


def test_now_anchors_every_date(tmp_path) -> None:
    later = NOW + timedelta(days=400)
    out = tmp_path / "later"
    t = generate(500, 7, rds_target=f"duckdb:{out / 'rds.duckdb'}", out_dir=out, now=later)
    con = duckdb.connect(str(out / "rds.duckdb"), read_only=True)
    newest = con.sql("SELECT max(created_at) FROM properties").fetchall()[0][0]
    con.close()
    assert NOW < newest <= later
    assert t["now"] == later.isoformat()


def test_checksum_agrees_with_the_models(default_scenario: GroundTruth) -> None:
    con = duckdb.connect(str(duckdb_path(default_scenario)), read_only=True)
    raws = [r for (r,) in con.sql("SELECT sfdc_id FROM properties").fetchall()]
    con.close()
    assert [normalize(r) for r in raws] == [sfid.normalize(r) for r in raws]
