"""Pilot, rollout and rollback: phases 4 and 5 of the plan."""
