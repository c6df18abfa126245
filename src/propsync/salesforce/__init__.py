"""The Salesforce layer: field contract, client, Bulk API 2.0, extraction and loading
(the local org emulator is its own package, `propsync.emulator`).

    from propsync.salesforce import extract_product_property
    from propsync.salesforce.connect import connect

    with connect(config.salesforce, root, sync=config.sync) as sf:
        stats = extract_product_property(sf, engine)

`connect` is imported from its module: once that module is imported, the name
`propsync.salesforce.connect` means the module. Imports here stay light (no
simple_salesforce, pyarrow or duckdb at import time).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from propsync.salesforce.bulk2 import BulkResult
    from propsync.salesforce.client import ApiUsage, SalesforceClient
    from propsync.salesforce.errors import RecordResult, SFErrorItem
    from propsync.salesforce.extract import ExtractStats, extract_product_property
    from propsync.salesforce.load import LoadStats, load_starting_state
    from propsync.salesforce.values import CLEAR

_EXPORTS = {
    "CLEAR": "values",
    "BulkResult": "bulk2",
    "ApiUsage": "client",
    "SalesforceClient": "client",
    "RecordResult": "errors",
    "SFErrorItem": "errors",
    "ExtractStats": "extract",
    "extract_product_property": "extract",
    "LoadStats": "load",
    "load_starting_state": "load",
}

__all__ = [
    "CLEAR",
    "ApiUsage",
    "BulkResult",
    "ExtractStats",
    "LoadStats",
    "RecordResult",
    "SFErrorItem",
    "SalesforceClient",
    "extract_product_property",
    "load_starting_state",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'propsync.salesforce' has no attribute {name!r}")
    return getattr(importlib.import_module(f"propsync.salesforce.{module}"), name)
