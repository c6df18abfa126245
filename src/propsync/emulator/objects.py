"""Object definitions: what describe returns and what validation enforces.

Each object is one JSON file (`objects/<name>.json` in this package, or
`<data_dir>/objects/<name>.json` to add or override one), so another object is
data, not code. A field carries the describe attributes Salesforce reports:
name, type (id, string, boolean, double, date, datetime, reference), length,
nillable, createable, updateable, externalId, unique, caseSensitive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

TEXT_TYPES = ("string", "id", "reference", "textarea", "picklist", "email", "phone", "url")
# Fields Salesforce maintains itself on every object.
SYSTEM_FIELDS = (
    "Id",
    "IsDeleted",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
)
# Audit fields an integration may set on insert when the org allows it
# ("Set Audit Fields upon Record Creation"), as data migrations do.
AUDIT_FIELDS = ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById")


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    label: str
    length: int | None
    nillable: bool
    createable: bool
    updateable: bool
    external_id: bool
    unique: bool
    case_sensitive: bool
    raw: dict[str, Any]

    @property
    def sql_type(self) -> str:
        if self.type == "boolean":
            return "INTEGER"
        if self.type in ("double", "currency", "percent", "int"):
            return "REAL"
        return "TEXT"

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_TYPES

    @property
    def nocase(self) -> bool:
        """SOQL compares and sorts text case-insensitively, ids case-sensitively."""
        return (
            self.type not in ("id", "reference")
            and self.sql_type == "TEXT"
            and (not self.case_sensitive)
        )

    def describe(self) -> dict[str, Any]:
        d = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "length": self.length or 0,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "externalId": self.external_id,
            "unique": self.unique,
            "caseSensitive": self.case_sensitive,
            "idLookup": self.name == "Id" or self.external_id,
            "custom": self.name.endswith("__c"),
            "defaultedOnCreate": self.type == "boolean" or self.name in SYSTEM_FIELDS,
            "filterable": True,
            "sortable": True,
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
        }
        for key in ("precision", "scale", "referenceTo", "defaultValue"):
            if key in self.raw:
                d[key] = self.raw[key]
        d.setdefault("referenceTo", [])
        return d


_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "datetime": "xsd:dateTime",
    "date": "xsd:date",
}


@dataclass
class ObjectDef:
    name: str
    label: str
    label_plural: str
    key_prefix: str
    custom: bool
    fields: dict[str, FieldDef]
    workflow: dict[str, Any] | None = None
    by_lower: dict[str, FieldDef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_lower = {name.lower(): f for name, f in self.fields.items()}

    def field(self, name: str) -> FieldDef | None:
        """The field named `name`, matched case-insensitively like the API does."""
        return self.by_lower.get(name.lower())

    @property
    def table(self) -> str:
        return f"obj_{self.name.lower()}"

    @property
    def external_ids(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.external_id]

    def describe(self, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label_plural,
            "keyPrefix": self.key_prefix,
            "custom": self.custom,
            "createable": True,
            "updateable": True,
            "deletable": True,
            "undeletable": True,
            "queryable": True,
            "retrieveable": True,
            "searchable": True,
            "layoutable": True,
            "urls": {
                "sobject": base,
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
            },
            "fields": [f.describe() for f in self.fields.values()],
        }

    def summary(self, version: str) -> dict[str, Any]:
        d = self.describe(version)
        del d["fields"]
        return d


def _field(raw: dict[str, Any]) -> FieldDef:
    try:
        return FieldDef(
            name=raw["name"],
            type=raw["type"],
            label=raw.get("label", raw["name"]),
            length=raw.get("length"),
            nillable=bool(raw.get("nillable", True)),
            createable=bool(raw.get("createable", True)),
            updateable=bool(raw.get("updateable", True)),
            external_id=bool(raw.get("externalId", False)),
            unique=bool(raw.get("unique", False)),
            case_sensitive=bool(raw.get("caseSensitive", False)),
            raw=raw,
        )
    except KeyError as exc:
        raise ValueError(f"field definition {raw!r} lacks {exc}") from exc


def parse_object(doc: dict[str, Any], source: str = "<object>") -> ObjectDef:
    """An ObjectDef from one definition document; ValueError names the source."""
    try:
        fields = {f["name"]: _field(f) for f in doc["fields"]}
        missing = [name for name in SYSTEM_FIELDS if name not in fields]
        if missing:
            raise ValueError(f"{source}: system fields missing: {', '.join(missing)}")
        prefix = doc["keyPrefix"]
        if len(prefix) != 3:
            raise ValueError(f"{source}: keyPrefix must be 3 characters, got {prefix!r}")
        return ObjectDef(
            name=doc["name"],
            label=doc.get("label", doc["name"]),
            label_plural=doc.get("labelPlural", doc["name"]),
            key_prefix=prefix,
            custom=bool(doc.get("custom", doc["name"].endswith("__c"))),
            fields=fields,
            workflow=doc.get("workflow"),
        )
    except KeyError as exc:
        raise ValueError(f"{source}: object definition lacks {exc}") from exc


def load_objects(extra_dir: Path | None = None) -> dict[str, ObjectDef]:
    """The package's object definitions, plus (overriding) any in `extra_dir`."""
    docs: dict[str, tuple[str, dict[str, Any]]] = {}
    pkg = resources.files("propsync.emulator") / "objects"
    for entry in pkg.iterdir():
        if entry.name.endswith(".json"):
            docs[entry.name] = (f"objects/{entry.name}", json.loads(entry.read_text("utf-8")))
    if extra_dir is not None and extra_dir.is_dir():
        for path in sorted(extra_dir.glob("*.json")):
            docs[path.name] = (str(path), json.loads(path.read_text("utf-8")))
    objects = {}
    for source, doc in docs.values():
        obj = parse_object(doc, source)
        objects[obj.name.lower()] = obj
    return objects
