"""The error table, the Bulk CSV writer and the extract's type conversion, on their own
(no org needed): these decide retries, what a cell means, and what lands in the engine."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from propsync.errors import (
    QuotaExhausted,
    SessionExpired,
    TerminalSalesforceError,
    TransientSalesforceError,
    UsageError,
)
from propsync.fields import FIELDS
from propsync.salesforce import bulk2, extract
from propsync.salesforce.bulk2 import CLEAR
from propsync.salesforce.errors import (
    is_transient_record_error,
    parse_bulk_error,
    parse_bulk_errors,
    parse_error_body,
    redact,
    register_secret,
    request_error,
)


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (503, "SERVER_UNAVAILABLE", "down", TransientSalesforceError),
        (500, None, "boom", TransientSalesforceError),
        (502, None, "bad gateway", TransientSalesforceError),
        (400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access", TransientSalesforceError),
        (
            400,
            "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
            "trigger: UNABLE_TO_LOCK_ROW, unable to obtain exclusive access",
            TransientSalesforceError,
        ),
        (401, "INVALID_SESSION_ID", "Session expired or invalid", SessionExpired),
        (403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", QuotaExhausted),
        (400, "MALFORMED_QUERY", "unexpected token", TerminalSalesforceError),
        (400, "INVALID_FIELD", "No such column", TerminalSalesforceError),
        (403, "INSUFFICIENT_ACCESS_OR_READONLY", "no", TerminalSalesforceError),
        (400, "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "validation", TerminalSalesforceError),
    ],
)
def test_request_error_table(status, code, message, expected):
    err = request_error(status, code, message, what="call")
    assert type(err) is expected
    assert err.code == code and err.status == status


def test_session_expired_is_transient_and_quota_is_terminal():
    assert isinstance(request_error(401, "INVALID_SESSION_ID", "x"), TransientSalesforceError)
    assert not isinstance(
        request_error(403, "REQUEST_LIMIT_EXCEEDED", "x"), TransientSalesforceError
    )


@pytest.mark.parametrize(
    ("code", "message", "transient"),
    [
        ("UNABLE_TO_LOCK_ROW", "", True),
        ("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "x: UNABLE_TO_LOCK_ROW, unable", True),
        ("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "validation rule", False),
        ("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", False),
        ("STRING_TOO_LONG", "Name: data value too large", False),
        ("DUPLICATE_VALUE", "duplicate value found", False),
        ("NOT_PROCESSED", "job failed", True),
    ],
)
def test_record_error_table(code, message, transient):
    assert is_transient_record_error(code, message) is transient


def test_parse_error_bodies():
    assert parse_error_body([{"errorCode": "INVALID_FIELD", "message": "bad"}]) == (
        "INVALID_FIELD",
        "bad",
    )
    assert parse_error_body({"error": "invalid_client", "error_description": "no"}) == (
        "invalid_client",
        "no",
    )
    assert parse_error_body("plain text")[0] is None


def test_parse_bulk_error_cells():
    e = parse_bulk_error("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --")
    assert (e.code, e.message, e.fields) == (
        "REQUIRED_FIELD_MISSING",
        "Required fields are missing: [Name]",
        ("Name",),
    )
    e = parse_bulk_error("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--")
    assert e.code == "UNABLE_TO_LOCK_ROW" and e.transient
    assert parse_bulk_error("garbage").code == "UNKNOWN_EXCEPTION"
    both = parse_bulk_errors(
        "STRING_TOO_LONG:Name: data value too large:Name --; "
        "REQUIRED_FIELD_MISSING:Required fields are missing: [snappt_property_id__c]:"
        "snappt_property_id__c --"
    )
    assert [e.code for e in both] == ["STRING_TOO_LONG", "REQUIRED_FIELD_MISSING"]
    assert both[1].fields == ("snappt_property_id__c",)


def test_redact_patterns_and_known_values():
    register_secret("s3cr3t-client-value")
    text = (
        "Authorization: Bearer 00D000000000001!AQ4AQFakeToken.x "
        'body={"access_token": "abc.def", "client_secret": "zzz"} password=hunter22 '
        "and s3cr3t-client-value again"
    )
    out = redact(text)
    for leaked in ("AQ4AQFakeToken", "abc.def", "zzz", "hunter22", "s3cr3t-client-value"):
        assert leaked not in out
    assert "[REDACTED]" in out


def _csv(records, columns, key):
    chunks = list(bulk2._blocks(records, columns, key))
    data = b"".join(c for c, _ in chunks).decode()
    keys = [k for _, ks in chunks for k in ks]
    return list(csv.reader(io.StringIO(data))), keys


def test_dict_rows_none_leaves_clear_empties_and_order_is_explicit():
    when = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2)))
    rows, keys = _csv(
        [
            {"snappt_property_id__c": "1", "Name": "a, \"b\"\nc", "City__c": None},
            {"snappt_property_id__c": "2", "City__c": CLEAR, "IDV_Enabled__c": True},
            {
                "snappt_property_id__c": "3",
                "RDS_Created_At__c": when,
                "Active_Property_Count__c": 2.0,
            },
        ],
        ["City__c", "snappt_property_id__c", "Name", "IDV_Enabled__c", "RDS_Created_At__c",
         "Active_Property_Count__c"],
        "snappt_property_id__c",
    )  # fmt: skip
    assert keys == ["1", "2", "3"]
    assert rows[0] == ["", "1", 'a, "b"\nc', "", "", ""]
    assert rows[1] == ["#N/A", "2", "", "true", "", ""]
    assert rows[2] == ["", "3", "", "", "2024-05-06T05:08:09.123Z", "2"]


def test_dict_rows_reject_unknown_fields_and_missing_keys():
    with pytest.raises(UsageError, match="row 0: fields \\['Bogus__c'\\]"):
        _csv([{"Id": "x", "Bogus__c": 1}], ["Id"], "Id")
    with pytest.raises(UsageError, match="row 1: field Id is required"):
        _csv([{"Id": "a"}, {"Id": None}], ["Id"], "Id")
    with pytest.raises(UsageError, match="time zone"):
        _csv([{"Id": "a", "T": datetime(2024, 1, 1)}], ["Id", "T"], "Id")


def test_arrow_rows_format_like_dict_rows():
    table = pa.table(
        {
            "Name": ["é, x", None],
            "snappt_property_id__c": ["10", "11"],
            "IDV_Enabled__c": [True, None],
            "Active_Property_Count__c": [3.0, 1.5],
            "RDS_Created_At__c": pa.array(
                [datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC), None],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    rows, keys = _csv(
        table,
        ["snappt_property_id__c", "Name", "IDV_Enabled__c", "Active_Property_Count__c",
         "RDS_Created_At__c"],
        "snappt_property_id__c",
    )  # fmt: skip
    assert keys == ["10", "11"]
    assert rows == [
        ["10", "é, x", "true", "3", "2024-01-02T03:04:05.678Z"],
        ["11", "", "", "1.5", ""],
    ]


def _rest_record(**over):
    base = {f.name: None for f in FIELDS}
    base.update(
        Id="a0B000000000001AAA",
        Name="Zoë",
        snappt_property_id__c="1",
        IDV_Enabled__c=True,
        IsDeleted=False,
        Active_Property_Count__c=2.0,
        CreatedDate="2024-01-02T03:04:05.000+0000",
    )
    base.update(over)
    return base


def test_rest_records_convert_to_engine_types():
    batch = extract._from_records(
        [_rest_record(), _rest_record(Id="a0B000000000002AAA", IsDeleted=True)],
        extract.arrow_schema(),
    )
    row = batch.to_pylist()[0]
    assert row["name"] == "Zoë" and row["idv_enabled_c"] is True
    assert row["active_property_count_c"] == 2 and row["bank_linking_enabled_c"] is None
    assert row["created_date"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert batch.to_pylist()[1]["is_deleted"] is True


def test_bad_values_name_the_record_and_the_field():
    with pytest.raises(TerminalSalesforceError, match="record a0B9: field IDV_Enabled__c"):
        extract._from_records(
            [_rest_record(Id="a0B9", IDV_Enabled__c="yes")], extract.arrow_schema()
        )
    with pytest.raises(
        TerminalSalesforceError, match="record a0B8: field Active_Property_Count__c"
    ):
        extract._from_records(
            [_rest_record(), _rest_record(Id="a0B8", Active_Property_Count__c=1.5)],
            extract.arrow_schema(),
        )
    strings = pa.table({f.name: pa.array(["x"], pa.string()) for f in FIELDS})
    strings = strings.set_column(0, "Id", pa.array(["a0B7"]))
    with pytest.raises(TerminalSalesforceError, match="record a0B7: field IDV_Enabled__c"):
        extract._from_strings(strings, extract.arrow_schema())
