"""The library surface for the pilot of phase 4."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from propsync.rollout import pilot_run as pilot_run_mod
from propsync.rollout import pilot_select as pilot_select_mod
from propsync.rollout import pilot_signoff as pilot_signoff_mod
from propsync.rollout import pilot_validate as pilot_validate_mod
from propsync.sync.lifecycle import Progress

if TYPE_CHECKING:
    pass

from propsync.api._common import WorkspaceLike, _opened

# --- pilot (phase 4) --------------------------------------------------------------------


def pilot_select(
    workspace: WorkspaceLike = None,
    *,
    name: str = pilot_select_mod.DEFAULT_NAME,
    seed: int = pilot_select_mod.DEFAULT_SEED,
    now: datetime | None = None,
    refresh_inputs: bool = True,
) -> pilot_select_mod.PilotSelection:
    """Select the pilot of Step 4.1 (50 creates, 50 updates in the plan's strata, seeded)
    over freshly refreshed queues, save it as the pilot set `name` and write its two CSV
    exports under <workspace>/reports/. `refresh_inputs=False` selects over the engine's
    views as they are."""
    with _opened(workspace) as ws:
        return pilot_select_mod.select(ws, name, seed=seed, now=now, refresh_inputs=refresh_inputs)


def pilot_show(
    workspace: WorkspaceLike = None,
    *,
    name: str = pilot_select_mod.DEFAULT_NAME,
    csv_dir: str | Path | None = None,
) -> pilot_select_mod.PilotSet:
    """The pilot set saved under `name` (its latest selection); with `csv_dir`, its two
    CSV exports (the plan's columns) are written there too."""
    with _opened(workspace) as ws:
        saved = pilot_select_mod.saved_set(ws, name)
        if csv_dir is not None:
            for queue, rows in saved.rows.items():
                pilot_select_mod.write_csv(Path(csv_dir), name, queue, rows)
        return saved


def pilot_run(
    workspace: WorkspaceLike = None,
    *,
    name: str = pilot_select_mod.DEFAULT_NAME,
    force: bool = False,
    no_monitoring: bool = False,
    progress: Progress | None = None,
) -> pilot_run_mod.PilotRunResult:
    """Steps 4.2/4.3 on the pilot set `name`: refresh, the pre-flight checklist (refused,
    `exit_code` 2, when an item fails unless `force`), the baseline of the update set,
    then Sync A and Sync B restricted to the pilot. `no_monitoring` says alerting is
    knowingly not configured."""
    with _opened(workspace) as ws:
        return pilot_run_mod.run_pilot(
            ws, name, force=force, no_monitoring=no_monitoring, progress=progress
        )


def pilot_validate(
    workspace: WorkspaceLike = None,
    *,
    name: str = pilot_select_mod.DEFAULT_NAME,
    progress: Progress | None = None,
) -> pilot_validate_mod.ValidationResult:
    """Step 4.4's checklist on the pilot's latest run (each item with its offending
    records, plus a read-back of every record written), saved and written as Markdown
    and HTML under <workspace>/reports/. `exit_code` 1 when an item failed."""
    with _opened(workspace) as ws:
        return pilot_validate_mod.validate(ws, name, progress=progress)


def pilot_signoff(
    workspace: WorkspaceLike = None,
    *,
    by: str,
    name: str = pilot_select_mod.DEFAULT_NAME,
    note: str | None = None,
    role: str | None = None,
) -> pilot_signoff_mod.SignedValidation:
    """Record `by`'s approval of the pilot's latest validation (SignoffRefused, exit 2,
    while it has failures or when there is none)."""
    with _opened(workspace) as ws:
        return pilot_signoff_mod.signoff(ws, name, by=by, note=note, role=role)


def latest_signed_validation(
    workspace: WorkspaceLike = None, name: str = pilot_select_mod.DEFAULT_NAME
) -> pilot_signoff_mod.SignedValidation | None:
    """The pilot's latest validation if it passed and was signed off, else None (the
    gate of the full rollout)."""
    with _opened(workspace) as ws:
        return pilot_signoff_mod.latest_signed_validation(ws, name)
