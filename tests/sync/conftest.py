"""Fixtures for the sync tests: the model tests' hand-built scenario, and (for the
end-to-end tests) a generated workspace with the emulator."""

from __future__ import annotations

from tests.models.conftest import scenario  # noqa: F401  (re-exported fixture)
