"""The hand-built edge cases: Park Kennedy and every case that breaks naive code.

They sit in the first chunk, ids 1-99, whatever the scale, so even a tiny scenario holds
each of them. `generate` counts what they contribute (with the ground-truth counter) and
sizes the bulk to fill the plan's numbers exactly around them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from propsync.generate.ids import mint, to18
from propsync.generate.truth import FEATURES, PARK_KENNEDY

# LastModifiedById of the old sync's integration user, and of a human admin.
LEGACY_SYNC_USER = mint("005Dn", 7001)
HUMAN_USER = mint("005Dn", 3)
# Key prefix + pod of product_property__c record ids minted here (the bulk uses 'a0BDn').
SPECIAL_RECORD_PREFIX = "a0BDm"

IDV, BANK, PAYROLL, INCOME = FEATURES
NON_ASCII_NAME = "Résidence Château Ñandú 東京"
SPECIAL_COMPANIES = (
    (1, "Kennedy Realty Group"),
    (2, "Société Générale Immobilière"),
    (3, None),
)


def _id(stem: str) -> str:
    """An 18-char id from a 10-char edge-case stem, in a range the bulk never uses."""
    return to18("a01Dn" + stem)


def _lower_suffix(value: str) -> str:
    lowered = value[:15] + value[15:].lower()
    if lowered == value:
        raise AssertionError(f"{value} has no letters in its suffix")
    return lowered


def _name(length: int, head: str) -> str:
    return (head + " " + "x" * length)[:length]


@dataclass
class _Block:
    now: datetime
    properties: list[dict[str, Any]] = field(default_factory=list)
    features: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    def prop(
        self,
        pid: int,
        name: str | None,
        sfdc: str | None = None,
        *,
        on: tuple[str, ...] = (),
        status: str = "ACTIVE",
        age_days: float = 400,
        deleted: bool = False,
        company: int | None = 1,
        city: str | None = "Austin",
        state: str | None = "TX",
        nulls: bool = False,
    ) -> dict[str, Any]:
        created = self.now - timedelta(days=age_days, hours=pid % 7)
        p = {
            "id": pid,
            "name": name,
            "short_id": None if nulls else f"E{pid:04d}",
            "company_id": None if nulls else company,
            "address": None if nulls else f"{100 + pid} Edge Case Ave",
            "city": None if nulls else city,
            "state": None if nulls else state,
            "zip": None if nulls else f"{78700 + pid:05d}",
            "status": status,
            "sfdc_id": sfdc,
            "created_at": created,
            "updated_at": None if nulls else created + timedelta(hours=1),
            "deleted_at": self.now - timedelta(days=2) if deleted else None,
        }
        self.properties.append(p)
        for feature in on:
            self.feature(pid, feature, True)
        return p

    def feature(self, pid: int, feature: str, enabled: bool | None) -> None:
        # the row with enabled NULL also has updated_at NULL (NULLs in every column)
        changed = None if enabled is None else self.now - timedelta(days=1)
        self.features.append(
            {"property_id": pid, "feature": feature, "enabled": enabled, "updated_at": changed}
        )

    def record(
        self,
        p: dict[str, Any],
        sf_id: str | None,
        *,
        on: tuple[str, ...] | None = None,
        text: str | None = None,
        count: float | None = 1.0,
        deleted: bool = False,
        name: str | None = None,
        by: str = LEGACY_SYNC_USER,
    ) -> dict[str, Any]:
        """A record as the old sync wrote it: the property's own flags unless `on` says."""
        flags = (
            on
            if on is not None
            else tuple(
                f["feature"] for f in self.features if f["property_id"] == p["id"] and f["enabled"]
            )
        )
        created = p["created_at"] + timedelta(days=1)
        r = {
            "Id": mint(SPECIAL_RECORD_PREFIX, len(self.records) + 1),
            "Name": name if name is not None else p["name"],
            "snappt_property_id__c": text if text is not None else str(p["id"]),
            "Short_ID__c": p["short_id"],
            "Company_ID__c": None if p["company_id"] is None else str(p["company_id"]),
            "City__c": p["city"],
            "State__c": p["state"],
            "IDV_Enabled__c": IDV in flags,
            "Bank_Linking_Enabled__c": BANK in flags,
            "Payroll_Enabled__c": PAYROLL in flags,
            "Income_Insights_Enabled__c": INCOME in flags,
            "Active_Property_Count__c": count,
            "Is_Multi_Property__c": False,
            "RDS_Created_At__c": p["created_at"],
            "sf_property_id__c": sf_id,
            "IsDeleted": deleted,
            "CreatedDate": created,
            "LastModifiedDate": created + timedelta(days=2),
            "LastModifiedById": by,
        }
        self.records.append(r)
        return r


def build(now: datetime) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """(companies, properties, property_features, records) of the edge-case block."""
    b = _Block(now)
    # Park Kennedy: two ACTIVE properties on one Salesforce property; IDV on one, bank
    # linking on the other, so the aggregate has both and each old record disagrees.
    pk1 = b.prop(1, "Park Kennedy", PARK_KENNEDY, on=(IDV,))
    pk2 = b.prop(2, "Park Kennedy - Phase II", PARK_KENNEDY, on=(BANK,), company=2)
    b.record(pk1, PARK_KENNEDY, count=None)
    b.record(pk2, PARK_KENNEDY, count=1.0)
    # The same id stored as 15 chars on one property, 18 on the other: one group.
    x = _id("00000Mx15q")
    p3 = b.prop(3, "Fifteen Char Lofts", x[:15], on=(IDV,))
    p4 = b.prop(4, "Eighteen Char Lofts", x)
    b.record(p3, x)
    b.record(p4, x)
    # 15-char ids equal except for letter case: different Salesforce properties.
    p5 = b.prop(5, "Case Study Flats", "a01Dn00000CaSe1", on=(IDV,))
    p6 = b.prop(6, "CASE STUDY FLATS", "a01Dn00000CASE1")
    b.record(p5, to18("a01Dn00000CaSe1"))
    b.record(p6, to18("a01Dn00000CASE1"))
    # Stray whitespace around a 15-char and an 18-char form of one id.
    w = _id("00000WsPc1")
    p7 = b.prop(7, "Whitespace Commons", " " + w[:15] + "  ", on=(PAYROLL,))
    p8 = b.prop(8, "Whitespace Commons East", w + "\t", on=(PAYROLL,))
    b.record(p7, w)
    b.record(p8, w)
    # Invalid ids: a wrong checksum suffix, a 13-char id; never grouped, own flags.
    bad = _id("00000BadCk")
    b.prop(
        9, "Wrong Checksum Court", bad[:15] + ("ZZZ" if bad[15:] != "ZZZ" else "AAA"), on=(INCOME,)
    )
    b.prop(10, "Short Id Terrace", "a01Dn00000ABC")
    # A lower-case checksum suffix is valid (compared case-insensitively).
    lo = _id("00000LoWer")
    p11 = b.prop(11, "Lowercase Suffix Place", _lower_suffix(lo), on=(BANK,))
    p12 = b.prop(12, "Uppercase Suffix Place", lo, on=(BANK,))
    b.record(p11, lo)
    b.record(p12, lo)
    # Empty and blank sfdc_id: no id at all.
    b.prop(13, "Empty Id Gardens", "")
    b.prop(14, "Blank Id Gardens", "   ", on=(IDV,))
    # Not syncable by R1: inactive, soft-deleted while ACTIVE, soft-deleted and inactive.
    b.prop(15, "Closed Towers", None, status="INACTIVE", on=(IDV, BANK))
    b.prop(16, "Soft Deleted Heights", _id("00000SoftD"), on=(IDV,), deleted=True)
    b.prop(50, "Gone Villas", _id("00000Gone1"), status="INACTIVE", deleted=True, on=(BANK,))
    # An inactive member with every feature on does not count in its group's OR; its
    # record still expects the group's values.
    g = _id("00000InGrp")
    p17 = b.prop(17, "Inactive Member Row", g, status="INACTIVE", on=FEATURES)
    p18 = b.prop(18, "Active Member Row", g)
    b.record(p17, g)
    b.record(p18, g)
    # A group whose only member was deactivated: its record expects all FALSE, count 0.
    d = _id("00000Deact")
    p19 = b.prop(19, "Deactivated Plaza", d, status="INACTIVE", on=(IDV,))
    b.record(p19, d)
    # Only a recycle-bin record: the property is in the create queue.
    p20 = b.prop(20, "Recycle Bin Manor", _id("00000RcyBn"), on=(BANK,))
    b.record(p20, _id("00000RcyBn"), deleted=True)
    # A live record plus an older deleted one for the same property.
    p21 = b.prop(21, "Live And Deleted Lofts", _id("00000LiveD"), on=(IDV,))
    b.record(p21, _id("00000LiveD"), on=(), deleted=True)
    b.record(p21, _id("00000LiveD"))
    # Orphans: records naming no RDS property (one of them in the recycle bin).
    b.record(p21, _id("00000Orph1"), text="999000000001", on=(IDV,))
    b.record(p21, None, text="TEST-0001", on=())
    b.record(p21, _id("00000Orph2"), text="999000000002", deleted=True)
    # Salesforce-side duplicates: '0022' beside '22' names the same RDS property.
    p22 = b.prop(22, "Duplicate Record Arms", _id("00000Dupl1"), on=(IDV,))
    b.record(p22, _id("00000Dupl1"))
    b.record(p22, _id("00000Dupl1"), text="0022", on=())
    p23 = b.prop(23, "Second Duplicate Arms", _id("00000Dupl2"))
    b.record(p23, _id("00000Dupl2"))
    b.record(p23, None, text="00023", on=(BANK,))
    # Id mismatches: sf_property_id__c points elsewhere than the property's sfdc_id.
    p24 = b.prop(24, "Mismatched Id Court", _id("00000IdMm1"), on=(PAYROLL,))
    b.record(p24, _id("00000Other"))
    p25 = b.prop(25, "Mismatched Id Court II", _id("00000IdMm2"))
    b.record(p25, _id("00000IdMm1"), on=(IDV,))
    # Names: exactly 80 (fits), 81 and 120 (STRING_TOO_LONG), NULL (REQUIRED_FIELD_MISSING).
    b.prop(26, _name(80, "Exactly Eighty Create"), None)
    p27 = b.prop(27, _name(80, "Exactly Eighty Update"), _id("00000Nm80b"), on=(IDV,))
    b.record(p27, _id("00000Nm80b"))
    b.prop(28, _name(81, "Eighty One Chars"), None)
    b.prop(29, _name(120, "One Hundred Twenty"), None, on=(BANK,))
    b.prop(30, None, None)
    b.prop(31, None, _id("00000NulNm"), on=(IDV,))
    # Non-ASCII names, one of exactly 80 characters (more than 80 bytes: still fits).
    b.prop(32, NON_ASCII_NAME, None, on=(INCOME,), company=2, city="Montréal", state="QC")
    p33 = b.prop(33, "Zoë's Café Üptown — 北京", _id("00000Utf8m"), city="São Paulo", state="SP")
    b.record(p33, _id("00000Utf8m"))
    b.prop(34, (NON_ASCII_NAME + " ") * 2 + "é" * (80 - 2 * len(NON_ASCII_NAME + " ")), None)
    # A city over its 40 characters.
    b.prop(35, "Long City Residences", None, city="Llanfairpwllgwyngyllgogerychwyrndrobwllll")
    # NULL in every nullable column (create queue), and on a matched property.
    b.prop(36, "Null Fields House", None, nulls=True)
    p37 = b.prop(37, "Null Fields Matched", _id("00000NulMt"), nulls=True, on=(BANK,))
    b.record(p37, _id("00000NulMt"))
    # A create-queue member without features of a group with features: it is created
    # with the group's flags (R4, R5). A NULL `enabled` means off.
    a = _id("00000AggCr")
    b.prop(38, "Aggregate Create Annex", a, age_days=10)
    b.feature(38, IDV, None)
    p39 = b.prop(39, "Aggregate Create Main", a, on=(IDV,))
    b.record(p39, a, count=None)
    # Three ACTIVE members plus an inactive one with every feature on.
    t = _id("00000Trio3")
    p40 = b.prop(40, "Trio Point A", t, on=(BANK,))
    p41 = b.prop(41, "Trio Point B", t)
    b.prop(42, "Trio Point Closed", t, status="INACTIVE", on=FEATURES)
    p43 = b.prop(43, "Trio Point C", t)
    for p in (p40, p41, p43):
        b.record(p, t)
    # Create queue: recent (< 30 days) and old (> 1 year), with and without features.
    b.prop(44, "Brand New Lofts", None, on=(IDV,), age_days=3)
    b.prop(45, "Brand New Flats", _id("00000New45"), age_days=12)
    b.prop(46, "Old Guard Towers", _id("00000Old46"), on=(BANK,), age_days=1100)
    b.prop(47, "Old Guard Cottages", None, age_days=900)
    # Renamed in RDS after the last sync, and last touched by a human in Salesforce.
    p48 = b.prop(48, "Renamed Residences", _id("00000Renam"))
    b.record(p48, _id("00000Renam"), name="Previous Name Residences", by=HUMAN_USER)
    b.feature(48, PAYROLL, False)
    companies = [
        {"id": cid, "name": name, "created_at": now - timedelta(days=2000), "updated_at": None}
        for cid, name in SPECIAL_COMPANIES
    ]
    return companies, b.properties, b.features, b.records
