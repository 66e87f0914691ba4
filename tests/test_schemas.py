"""The unified records' validation: what a platform's data must become."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from schemas import course_schema, event_schema, first_error, luhn_valid, settlement_line_schema


def course(**changes: Any) -> dict[str, Any]:
    base = {
        "platform": "tokopedia", "external_id": "644550369", "title": "Budidaya Ikan Lele",
        "institution": "LPK", "category": "Pertanian", "price_idr": 600_000, "duration_minutes": 1200,
        "mode": "self_paced", "rating": 3.7, "rating_count": 537, "active": True, "url": None,
        "updated_at": "2020-04-07T05:06:00+07:00", "raw": {"product_id": 644550369},
    }  # fmt: skip
    return {**base, **changes}


def event(**changes: Any) -> dict[str, Any]:
    base = {
        "platform": "tokopedia", "event_id": "a55f73a0", "kind": "purchase", "order_id": "INV/1",
        "course_external_id": "644550369", "card_number": "5182981696375302", "voucher_code": "TKP-1",
        "amount_idr": 500_000, "occurred_at": "2020-04-19T08:02:00Z", "certificate_number": None,
        "certificate_url": None, "score": None, "raw": {},
    }  # fmt: skip
    return {**base, **changes}


def test_a_course_loads_with_its_time_in_utc() -> None:
    loaded = course_schema.load(course())
    assert loaded["updated_at"] == dt.datetime(2020, 4, 6, 22, 6, tzinfo=dt.UTC)
    assert course_schema.dump(loaded)["updated_at"] == "2020-04-06T22:06:00Z"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price_idr": 600_000.0}, "price_idr"),
        ({"price_idr": "600000"}, "price_idr"),
        ({"price_idr": True}, "price_idr"),
        ({"price_idr": -1}, "price_idr"),
        ({"mode": "ONLINE"}, "mode"),
        ({"updated_at": "2020-04-07T05:06:00"}, "updated_at"),
        ({"active": "yes"}, "active"),
        ({"rating": 7.5}, "rating"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_course_field_out_of_contract_is_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        course_schema.load(course(**changes))
    assert first_error(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"card_number": "5182981696375303"}, "card_number"),
        ({"card_number": "518298169637530"}, "card_number"),
        ({"amount_idr": 500_000.5}, "amount_idr"),
        ({"amount_idr": None}, "amount_idr"),
        ({"kind": "refund"}, "kind"),
        ({"occurred_at": "not-a-time"}, "occurred_at"),
        ({"order_id": ""}, "order_id"),
        ({"order_id": None}, "order_id"),
    ],
)
def test_an_event_field_out_of_contract_is_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        event_schema.load(event(**changes))
    assert first_error(caught.value).startswith(f"{field}: ")


def test_a_completion_needs_no_amount_but_a_purchase_does() -> None:
    loaded = event_schema.load(
        event(kind="completion", amount_idr=None, certificate_number="C-1", certificate_url="https://c", score=88.5)
    )
    assert loaded["certificate_number"] == "C-1"


def test_a_settlement_line_is_whole_rupiah_in_utc() -> None:
    line = {
        "platform": "bukalapak", "order_id": "BL-1", "course_external_id": "BL-PRK-1",
        "card_number": "5182981696375302", "voucher_code": "V", "paid_at": "2020-06-30T23:59:00+07:00",
        "amount_idr": 1_500_000, "raw": {"Nominal (Rp)": "1.500.000"},
    }  # fmt: skip
    assert settlement_line_schema.load(line)["paid_at"] == dt.datetime(2020, 6, 30, 16, 59, tzinfo=dt.UTC)
    with pytest.raises(ValidationError):
        settlement_line_schema.load({**line, "amount_idr": 1_500_000.01})


@given(st.text(alphabet="0123456789", min_size=15, max_size=15))
def test_exactly_one_check_digit_completes_a_card_number(prefix: str) -> None:
    assert sum(luhn_valid(prefix + digit) for digit in "0123456789") == 1
