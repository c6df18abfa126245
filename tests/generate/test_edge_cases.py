"""Every naive-code breaker is present at a small scale, and the counts scale with it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from propsync.errors import UsageError
from propsync.generate import GroundTruth, generate
from propsync.generate.compose import targets
from propsync.generate.ids import to18
from propsync.generate.special import NON_ASCII_NAME
from tests.generate.conftest import NOW


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> GroundTruth:
    out = tmp_path_factory.mktemp("small")
    return generate(500, 11, rds_target=f"duckdb:{out / 'rds.duckdb'}", out_dir=out, now=NOW)


def _properties(t: GroundTruth) -> dict[int, dict]:
    con = duckdb.connect(t.rds_target.removeprefix("duckdb:"), read_only=True)
    try:
        return {
            r["id"]: r for r in con.sql("SELECT * FROM properties").to_arrow_table().to_pylist()
        }
    finally:
        con.close()


def test_counts_scale_with_the_scenario(small: GroundTruth) -> None:
    want = targets(500)
    assert (want.create, want.create_with_features, want.sharing, want.mismatches) == (
        round(1081 * 500 / 9061),
        round(507 * 500 / 9061),
        round(2410 * 500 / 9061),
        round(799 * 500 / 9061),
    )
    assert small["properties_to_create"] == want.create
    assert small["properties_to_create_with_features"] == want.create_with_features
    assert small["properties_to_update"] == want.update == 500 - want.create
    assert small["properties_sharing_sfdc_id"] == want.sharing
    assert small["feature_mismatches"] == want.mismatches


@pytest.mark.parametrize(
    "key",
    [
        "sfdc_id_15_char",
        "sfdc_id_with_whitespace",
        "sfdc_id_lowercase_suffix",
        "sfdc_id_empty_string",
        "sfdc_id_null",
        "invalid_sfdc_ids_active",
        "case_variant_sfdc_ids",
        "inactive_properties",
        "soft_deleted_properties",
        "soft_deleted_with_active_status",
        "inactive_only_groups",
        "records_matched_to_inactive_properties",
        "deleted_sf_records",
        "deleted_records_only_copy",
        "orphans",
        "sf_duplicates",
        "id_mismatches",
        "features_null_enabled",
        "properties_to_create_recent",
        "properties_to_create_old",
        "properties_missing_from_sf",
        "feature_mismatches_multi_property",
        "feature_mismatches_single_property",
    ],
)
def test_edge_case_present(small: GroundTruth, key: str) -> None:
    assert small[key] > 0, key


def test_groups_of_three_and_more(small: GroundTruth) -> None:
    assert {"2", "3"} <= small["group_size_histogram"].keys()
    assert any(int(size) >= 4 for size in small["group_size_histogram"])


def test_unsyncable_lists_each_reason(small: GroundTruth) -> None:
    reasons = {(u["reason"], u["field"]) for u in small["unsyncable"]}
    assert reasons == {
        ("STRING_TOO_LONG", "Name"),
        ("REQUIRED_FIELD_MISSING", "Name"),
        ("STRING_TOO_LONG", "City__c"),
    }
    props = _properties(small)
    for u in small["unsyncable"]:
        p = props[u["rds_property_id"]]
        if u["field"] == "Name":
            assert (p["name"] is None) == (u["reason"] == "REQUIRED_FIELD_MISSING")
            assert p["name"] is None or len(p["name"]) > 80
        else:
            assert len(p["city"]) > 40
    assert small["unsyncable_count"] == len(small["unsyncable"])


def test_names_at_the_limit_nulls_and_non_ascii_survive(small: GroundTruth) -> None:
    props = _properties(small)
    names = [p["name"] for p in props.values()]
    assert NON_ASCII_NAME in names
    assert sum(1 for n in names if n is not None and len(n) == 80) >= 3
    assert any(n is not None and len(n) == 80 and len(n.encode()) > 80 for n in names)
    assert any(n is not None and len(n) == 81 for n in names)
    assert None in names
    for column in ("short_id", "company_id", "address", "city", "state", "zip", "sfdc_id",
                   "updated_at", "deleted_at"):  # fmt: skip
        assert any(p[column] is None for p in props.values()), column
    con = duckdb.connect(small.rds_target.removeprefix("duckdb:"), read_only=True)
    nulls = con.sql(
        "SELECT count(*) FILTER (WHERE enabled IS NULL), count(*) FILTER (WHERE updated_at IS NULL)"
        " FROM property_features"
    ).fetchall()[0]
    company_nulls = con.sql(
        "SELECT count(*) FILTER (WHERE name IS NULL), count(*) FILTER (WHERE updated_at IS NULL)"
        " FROM companies"
    ).fetchall()[0]
    con.close()
    assert nulls == (small["features_null_enabled"], 1) and min(company_nulls) >= 1
    records = pq.read_table(small.salesforce_parquet).to_pylist()
    assert any(r["Name"] == "Zoë's Café Üptown — 北京" for r in records)
    assert any(r["City__c"] is None and not r["IsDeleted"] for r in records)
    assert any(r["Active_Property_Count__c"] is None for r in records)


def test_fifteen_char_ids_and_case_variants(small: GroundTruth) -> None:
    props = _properties(small)
    raw = {p["sfdc_id"] for p in props.values()}
    assert "a01Dn00000CaSe1" in raw and "a01Dn00000CASE1" in raw
    assert to18("a01Dn00000CaSe1") != to18("a01Dn00000CASE1")
    records = pq.read_table(small.salesforce_parquet).to_pylist()
    by_text = {r["snappt_property_id__c"]: r for r in records if not r["IsDeleted"]}
    fifteen = [p for p in props.values() if p["sfdc_id"] and len(p["sfdc_id"]) == 15
               and str(p["id"]) in by_text]  # fmt: skip
    assert fifteen
    for p in fifteen:
        # the old sync stored the 18-char form of the 15-char id
        assert by_text[str(p["id"])]["sf_property_id__c"] == to18(p["sfdc_id"])


def test_recycle_bin_and_duplicates(small: GroundTruth) -> None:
    records = pq.read_table(small.salesforce_parquet).to_pylist()
    live = {r["snappt_property_id__c"] for r in records if not r["IsDeleted"]}
    assert {"22", "0022", "23", "00023"} <= live
    binned_only = {r["snappt_property_id__c"] for r in records if r["IsDeleted"]} - live
    assert "20" in binned_only


def test_too_small_a_scale_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="too small"):
        generate(60, rds_target=f"duckdb:{tmp_path / 'x.duckdb'}", out_dir=tmp_path, now=NOW)


def test_unknown_target_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown target"):
        generate(500, rds_target="mysql://x", out_dir=tmp_path, now=NOW)


def test_chunks_add_up_like_one_piece(tmp_path: Path) -> None:
    """Chunked streaming (several chunks, truth counted in worker processes) keeps the
    totals exact."""
    out = tmp_path / "chunked"
    t = generate(
        2000, 5, rds_target=f"duckdb:{out / 'rds.duckdb'}", out_dir=out, now=NOW, chunk_size=600
    )
    want = targets(2000)
    assert t["properties_to_create"] == want.create
    assert t["properties_to_create_with_features"] == want.create_with_features
    assert t["properties_sharing_sfdc_id"] == want.sharing
    assert t["feature_mismatches"] == want.mismatches
    assert t["properties_to_update"] == want.update
    con = duckdb.connect(str(out / "rds.duckdb"), read_only=True)
    total, distinct = con.sql("SELECT count(*), count(DISTINCT id) FROM properties").fetchall()[0]
    con.close()
    assert total == distinct == t["properties_total"]


@pytest.mark.parametrize(("scale", "chunk_size"), [(9061, 250_000), (2500, 700)])
def test_construction_counts_equal_row_counts(tmp_path: Path, scale: int, chunk_size: int) -> None:
    """The vectorised truth used above 1M properties gives exactly the row-counted truth."""

    def run(how: str) -> GroundTruth:
        out = tmp_path / how
        return generate(
            scale, 13, rds_target=f"duckdb:{out / 'r.duckdb'}", out_dir=out, now=NOW,
            chunk_size=chunk_size, truth_from=how,
        )  # fmt: skip

    rows, built = run("rows"), run("construction")
    assert rows.salesforce_parquet.read_bytes() == built.salesforce_parquet.read_bytes()
    assert rows["truth_from"] == "rows" and built["truth_from"] == "construction"
    differing = {
        k: (v, built.counts[k]) for k, v in rows.counts.items() if k != "truth_from"
        and built.counts[k] != v
    }  # fmt: skip
    assert differing == {}
