"""Phases 4 and 5 of the plan: the pilot (select, run, validate, sign off), the full
rollout and rollback, and the checklist reports they write.

Pilot: `pilot_select.select` (Step 4.1's strata, SQL in `rollout/sql/`),
`pilot_run.run_pilot` (the pre-flight checklist, the baseline, Sync A and Sync B
restricted to the pilot), `pilot_validate.validate` (Step 4.4's checklist, each item a
check returning offending rows, with a read-back of every record written),
`pilot_signoff.signoff` and `pilot_signoff.latest_signed_validation` (the gate of the
full rollout). `report` renders any checklist as Markdown and HTML with a chart.

Rollback: `rollback.rollback` undoes one run from its audit before-images as a recorded
run of its own (`rollback_plan` computes the inverse plan and the drift);
`rollback.rollback_runs` undoes several, newest first (a pilot, a whole rollout).
"""
