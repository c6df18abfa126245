"""The scenario generator: the plan's RDS data, the org's starting state, and the truth.

`generate(scale, seed, rds_target=..., out_dir=...)` writes everything and returns a
`GroundTruth`; `load_salesforce_state_into_engine(engine, parquet)` puts the org's
starting state into the engine table `salesforce_product_property`.
"""

from __future__ import annotations

from propsync.generate.core import (
    DEFAULT_SCALE,
    DEFAULT_SEED,
    SALESFORCE_FILE,
    TRUTH_FILE,
    GroundTruth,
    default_now,
    generate,
)
from propsync.generate.sfstate import load_salesforce_state_into_engine

__all__ = [
    "DEFAULT_SCALE",
    "DEFAULT_SEED",
    "SALESFORCE_FILE",
    "TRUTH_FILE",
    "GroundTruth",
    "default_now",
    "generate",
    "load_salesforce_state_into_engine",
]
