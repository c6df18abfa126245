"""Exit codes and workspace-level CLI behaviour that cron and CI rely on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROPSYNC = [sys.executable, "-m", "propsync"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PROPSYNC, *args], cwd=cwd, capture_output=True, text=True, timeout=240)


def test_usage_errors_exit_64_and_config_errors_78(tmp_path: Path) -> None:
    assert run("generate", "--bogus", cwd=tmp_path).returncode == 64
    assert run("no-such-command", cwd=tmp_path).returncode == 64
    (tmp_path / "propsync.toml").write_text("[sync]\nbulk_treshold = 5\n")
    bad = run("plan", cwd=tmp_path)
    assert bad.returncode == 78
    assert "propsync.toml:2: sync.bulk_treshold: unknown setting" in bad.stderr


def test_generate_twice_needs_reset_org(tmp_path: Path) -> None:
    assert run("init", ".", cwd=tmp_path).returncode == 0
    first = run("--quiet", "generate", "--scale", "200", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = run("--quiet", "generate", "--scale", "200", cwd=tmp_path)
    assert again.returncode == 2
    assert "--reset-org" in again.stderr
    reset = run("--quiet", "generate", "--scale", "200", "--reset-org", cwd=tmp_path)
    assert reset.returncode == 0, reset.stderr


def test_demo_json_matches_its_ground_truth(tmp_path: Path) -> None:
    import json

    done = run(
        "demo", "--workspace", str(tmp_path / "demo"), "--scale", "300", "--json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    truth = json.loads((tmp_path / "demo" / "generated" / "ground_truth.json").read_text())
    assert report["ok"] is True
    assert report["before"]["properties_missing_from_sf"] == truth["properties_to_create"]
    assert report["before"]["p1_missing"] == truth["properties_to_create_with_features"]
    assert report["queues_before"]["properties_to_update"] == truth["properties_to_update"]
    unsyncable = {str(u["rds_property_id"]) for u in truth["unsyncable"]}
    assert {row["key"] for row in report["unsyncable"]} == unsyncable
    assert report["after"]["properties_missing_from_sf"] == len(unsyncable)
    assert report["after"]["feature_sync_accuracy_pct"] == 100.0
    assert report["second_plan"]["records_to_write"]["total"] == 0
    assert report["workflow"]["pending"] == 0
