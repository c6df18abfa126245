"""The runner, the compiler and the checks."""

from __future__ import annotations

import re

import pytest
import sqlglot

from propsync import models
from propsync.engines.duckdb import DuckDBEngine
from propsync.errors import EngineError, UsageError
from propsync.models import checks
from propsync.models.queues import UPDATE_QUEUE_SIZE_SQL
from tests.scenario import Scenario

DESIGN_VIEWS = {
    "rds_properties_enriched",
    "properties_aggregated_by_sfdc_id",
    "properties_to_create",
    "properties_to_update",
    "feature_sync_accuracy",
    "multi_property_stats",
    "sync_health_7d",
    "properties_missing_from_sf",
    "sync_queue_sizes_24h",
    "sync_monitoring_dashboard",
}
# Functions that DuckDB and Spark both accept but evaluate differently, or that one lacks.
FORBIDDEN = re.compile(
    r"\b(regexp_full_match|similar\s+to|count_if|epoch|epoch_ms|date_diff|datediff|"
    r"min_by|max_by|arg_min|arg_max|list_sort|array_sort)\b",
    re.IGNORECASE,
)


def test_every_design_view_exists_and_builds_in_dependency_order(scenario: Scenario) -> None:
    built = scenario.build()
    assert set(built) >= DESIGN_VIEWS
    position = {name: i for i, name in enumerate(built)}
    for name, model in models.models().items():
        for dep in model.reads:
            if dep in position:
                assert position[dep] < position[name], (dep, name)
    for view in built:
        assert scenario.engine.table_exists(view)


def test_views_build_on_empty_tables_and_rebuild(scenario: Scenario) -> None:
    scenario.build()
    assert models.build(scenario.engine) == models.view_names()
    dash = models.show(scenario.engine, "sync_monitoring_dashboard")
    assert dash[0]["properties_to_create"] == 0 and dash[0]["last_sync_at"] is None


def test_missing_tables_are_named() -> None:
    with DuckDBEngine() as engine:
        with pytest.raises(EngineError, match="properties") as err:
            models.build(engine)
        assert "salesforce_product_property" in str(err.value)
        # Only the checksum alphabet, which reads no table, can be built.
        assert models.build(engine, strict=False) == ["sfdc_id_checksum_chars"]


def test_missing_state_tables_skip_only_monitoring_views(scenario: Scenario) -> None:
    scenario.prop(1)
    built = scenario.build_without_state()
    missing = models.missing_inputs(scenario.engine)
    assert set(missing) == {"sync_health_7d", "sync_queue_sizes_24h", "sync_monitoring_dashboard"}
    assert missing["sync_health_7d"] == ["property_sync_audit_log"]
    assert "properties_to_create" in built and "sync_health_7d" not in built


def test_show_rejects_unknown_view(scenario: Scenario) -> None:
    scenario.build()
    with pytest.raises(UsageError, match="unknown view 'nope'"):
        models.show(scenario.engine, "nope")


@pytest.mark.parametrize("dialect", ["spark", "databricks"])
def test_compile_produces_reparseable_portable_sql(dialect: str) -> None:
    compiled = models.compile(dialect)
    assert list(compiled) == models.view_names()
    for view, sql in compiled.items():
        tree = sqlglot.parse_one(sql, read=dialect)
        assert tree.this.name == view
        assert not FORBIDDEN.search(sql), (view, FORBIDDEN.search(sql))
        # Spark accepts EXISTS only in filters; the models keep it in WHERE clauses.
        for node in tree.find_all(sqlglot.exp.Exists):
            assert node.find_ancestor(sqlglot.exp.Where) is not None, view
    source = "\n".join(m.sql for m in models.models().values())
    assert not FORBIDDEN.search(source)
    assert (
        "RLIKE" in compiled["rds_properties_normalized"]
        or "REGEXP_LIKE" in compiled["rds_properties_normalized"]
    )


def test_compile_rejects_unknown_dialect() -> None:
    with pytest.raises(UsageError, match="unknown dialect"):
        models.compile("oracle")


def test_checks_pass_on_consistent_data(scenario: Scenario) -> None:
    scenario.prop(1, sfdc_id="a01Dn00000HHUan", features=("bank_linking",))
    scenario.prop(2, sfdc_id="a01Dn00000HHUanIAH")
    scenario.prop(3)
    scenario.record(1)
    scenario.record(4)
    scenario.build()
    results = checks.run_checks(scenario.engine)
    assert {r.name for r in results} == set(checks.all_checks())
    assert all(r.passed for r in results), [r for r in results if not r.passed]
    assert len(checks.require_all(scenario.engine)) == len(results)


def test_checks_find_offending_rows(scenario: Scenario) -> None:
    scenario.prop(1)
    scenario.prop(2)
    scenario.record(2)
    scenario.record(2)  # two live records with one external id
    scenario.build()
    # The same RDS id twice in the source is held back (R10), so the queue is made to hold
    # two creates for one external id by copying the stored row: the checks are the net
    # behind the rules.
    scenario.engine.execute(
        "INSERT INTO rds_properties_normalized"
        " SELECT * FROM rds_properties_normalized WHERE rds_property_id = '1'"
    )
    results = {r.name: r for r in checks.run_checks(scenario.engine)}
    assert results["create_queue_unique"].offending == 1
    assert results["create_queue_unique"].sample == [{"rds_property_id": "1", "occurrences": 2}]
    assert not results["active_coverage"].passed  # property 1 is placed twice
    from propsync.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="create_queue_unique"):
        checks.require_all(scenario.engine)
    # The two records of property 2 are reported, never queued.
    dups = scenario.engine.scalar(
        "SELECT COUNT(*) FROM sync_exceptions WHERE exception_type = 'SF_DUPLICATE'"
    )
    assert dups == 2
    assert scenario.engine.scalar("SELECT COUNT(*) FROM properties_to_update") == 0
    assert scenario.engine.scalar(UPDATE_QUEUE_SIZE_SQL) == 0


def test_materialised_models_switch_between_table_and_view(scenario: Scenario) -> None:
    scenario.prop(1, sfdc_id="a01Dn00000HHUan")
    scenario.build()
    kinds = dict(
        scenario.engine.rows("SELECT table_name, table_type FROM information_schema.tables")
    )
    assert kinds["rds_properties_normalized"] == "BASE TABLE"
    # The wider view for people reads the stored table, never redoing the normalisation.
    assert kinds["rds_properties_enriched"] == "VIEW"
    assert kinds["properties_to_update"] == "VIEW"
    # The write settings used for the table are put back for everyone else.
    assert scenario.engine.scalar("SELECT current_setting('preserve_insertion_order')") is True
    assert scenario.engine.scalar("SELECT current_setting('force_compression')") == "auto"
    models.build(scenario.engine, materialize=False)
    kinds = dict(
        scenario.engine.rows("SELECT table_name, table_type FROM information_schema.tables")
    )
    assert kinds["rds_properties_normalized"] == "VIEW"
    # As a view it follows the RDS table at once; as a table, after the next build.
    scenario.engine.execute("UPDATE properties SET sfdc_id = NULL")
    assert scenario.engine.scalar("SELECT sfdc_id FROM rds_properties_enriched") is None
    models.build(scenario.engine)
    assert scenario.engine.scalar("SELECT has_valid_sfdc_id FROM rds_properties_enriched") == 0
    scenario.engine.execute("UPDATE properties SET sfdc_id = 'a01Dn00000HHUan'")
    # Stored: the normalisation waits for the next build; the RDS columns do not.
    assert scenario.engine.scalar("SELECT sfdc_id FROM rds_properties_enriched") is None
    assert (
        scenario.engine.scalar("SELECT sfdc_id_raw FROM rds_properties_enriched")
        == "a01Dn00000HHUan"
    )
    models.build(scenario.engine)
    assert (
        scenario.engine.scalar("SELECT sfdc_id FROM rds_properties_enriched")
        == "a01Dn00000HHUanIAH"
    )


def test_compile_qualifies_by_catalog_and_schema() -> None:
    replica = {"salesforce_product_property": "crm.salesforce.product_property"}
    ddl = models.deploy_ddl("databricks", catalog="crm", schema="sfdc_dbx", tables=replica)
    assert ddl[0] == "CREATE SCHEMA IF NOT EXISTS crm.sfdc_dbx" and len(ddl) == 1 + len(
        models.view_names()
    )
    create = models.compile("databricks", catalog="crm", schema="sfdc_dbx", tables=replica)
    text = create["properties_to_create"]
    assert text.startswith("CREATE OR REPLACE VIEW crm.sfdc_dbx.properties_to_create AS")
    assert "crm.salesforce.product_property" in text
    assert "crm.sfdc_dbx.rds_properties_normalized" in text and ".live_records" not in text
    with pytest.raises(UsageError, match="catalog needs a schema"):
        models.compile("spark", catalog="crm")
