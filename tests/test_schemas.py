"""The unified records' validation: what a platform's data must become."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, missing, validate

from adapters import get_adapter
from schemas import (
    MODES,
    PLATFORMS,
    course_schema,
    event_schema,
    first_error,
    load_course,
    luhn_valid,
    settlement_line_schema,
)
from tests import samples


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


# -- load_course: course_schema.load with a fast path -----------------------------

COURSE_KEYS = list(course())


def outcome(load: Callable[[Any], dict[str, Any]], record: Any) -> tuple[Any, ...]:
    """What ``load`` made of ``record``: the items with each value's type (so that 4
    and 4.0 differ) and whether ``raw`` is the object given, or the error it raised."""
    try:
        loaded = load(record)
    except ValidationError as exc:
        return ("invalid", exc.messages)
    except Exception as exc:  # the schema's own failures must be the fast path's too
        return ("raised", type(exc), str(exc))
    raw_kept = isinstance(record, dict) and "raw" in record and loaded.get("raw") is record["raw"]
    return ("loaded", [(key, type(value), value) for key, value in loaded.items()], raw_kept)


def assert_loads_alike(record: Any) -> None:
    assert outcome(load_course, record) == outcome(course_schema.load, record)


def rule(validator: Any) -> tuple[Any, ...]:
    if isinstance(validator, validate.Length):
        return ("Length", validator.min, validator.max, validator.equal)
    if isinstance(validator, validate.Range):
        return ("Range", validator.min, validator.max, validator.min_inclusive, validator.max_inclusive)
    if isinstance(validator, validate.Regexp):
        return ("Regexp", validator.regex.pattern, validator.regex.flags)
    if isinstance(validator, validate.OneOf):
        return ("OneOf", tuple(validator.choices))
    return ("unknown", repr(validator))


def test_load_course_knows_every_rule_of_the_course_schema() -> None:
    """load_course spells CourseSchema's rules out by hand; changing one there means changing it there too."""
    rules = {
        name: (type(field).__name__, field.allow_none, [rule(v) for v in field.validators])
        for name, field in course_schema.load_fields.items()
    }
    assert list(rules) == COURSE_KEYS
    assert rules == {
        "platform": ("String", False, [("Regexp", "^[a-z][a-z0-9_]{1,39}$", re.UNICODE)]),
        "external_id": ("String", False, [("Length", 1, 200, None)]),
        "title": ("String", False, [("Length", 1, 500, None)]),
        "institution": ("String", False, [("Length", 1, 300, None)]),
        "category": ("String", False, [("Length", 1, 200, None)]),
        "price_idr": ("Rupiah", False, []),
        "duration_minutes": ("Integer", False, [("Range", 0, 100_000, True, True)]),
        "mode": ("String", False, [("OneOf", ("self_paced", "live_online", "offline"))]),
        "rating": ("Float", True, [("Range", 0, 5, True, True)]),
        "rating_count": ("Integer", False, [("Range", 0, 2**31 - 1, True, True)]),
        "active": ("Boolean", False, []),
        "url": ("String", True, [("Length", None, 2000, None)]),
        "updated_at": ("UtcDateTime", False, []),
        "raw": ("Raw", False, []),
    }
    price, duration, rating, rating_count, active = (
        course_schema.load_fields[name]
        for name in ("price_idr", "duration_minutes", "rating", "rating_count", "active")
    )
    assert (price.strict, price.allow_negative, duration.strict, rating_count.strict) == (True, False, True, True)
    assert rating.allow_nan is False
    assert (active.truthy, active.falsy) == ({True}, {False})
    assert not any(course_schema._hooks.values())  # no pre_load, post_load, validates nor validates_schema
    for field in course_schema.load_fields.values():
        assert (field.data_key, field.attribute, field.pre_load, field.post_load) == (None, None, [], [])


offsets = st.builds(
    dt.timezone,
    st.timedeltas(min_value=dt.timedelta(hours=-23, minutes=-59), max_value=dt.timedelta(hours=23, minutes=59)),
)
aware_times = st.datetimes(timezones=st.one_of(st.just(dt.UTC), offsets))


@st.composite
def iso_text(draw: st.DrawFn) -> str:
    text = draw(aware_times).isoformat()
    return text.replace("+00:00", "Z") if draw(st.booleans()) else text


def texts(low: int, high: int) -> st.SearchStrategy[str]:
    return st.text(min_size=low, max_size=high)


VALID = {
    "platform": st.one_of(st.sampled_from(PLATFORMS), st.from_regex(r"[a-z][a-z0-9_]{1,39}", fullmatch=True)),
    "external_id": texts(1, 200),
    "title": texts(1, 500),
    "institution": texts(1, 300),
    "category": texts(1, 200),
    "price_idr": st.one_of(st.integers(0, 50_000_000), st.integers(min_value=0)),
    "duration_minutes": st.integers(0, 100_000),
    "mode": st.sampled_from(MODES),
    "rating": st.one_of(st.none(), st.floats(0, 5), st.integers(0, 5)),
    "rating_count": st.integers(min_value=0),
    "active": st.booleans(),
    "url": st.one_of(st.none(), texts(0, 2000)),
    "updated_at": st.one_of(aware_times, iso_text()),
    "raw": st.one_of(
        st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=8), st.integers(), st.none())),
        st.text(max_size=40),
        st.integers(),
        st.booleans(),
        st.lists(st.integers(), max_size=3),
    ),
}

ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.datetimes(),
    st.dates(),
)
"""Any type in any field: every field's wrong types, bool for int among them."""


class Text(str):
    pass


class Count(int):
    pass


def bad_strings(low: int, high: int) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.just(""),
        texts(high + 1, high + 20),
        st.builds(Text, texts(low, high)),  # a str subclass
        st.text(min_size=max(low, 1), max_size=20).map(str.encode),  # bytes, which String decodes
        st.binary(min_size=1, max_size=4).filter(lambda b: not _utf8(b)),
    )


def _utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def bad_counts(high: int | None) -> st.SearchStrategy[Any]:
    edges = [-1, True, False, 1.0, "1", Count(3)] + ([high + 1] if high is not None else [10**40])
    return st.one_of(st.sampled_from(edges), st.integers(max_value=-1), st.floats())


BROKEN = {
    "platform": st.one_of(
        st.sampled_from(["Tokopedia", "a", "1abc", "toko-pedia", "tokopedia\n", "tokopedia ", "x" * 41]),
        bad_strings(2, 40),
        st.text(max_size=45),
    ),
    "external_id": bad_strings(1, 200),
    "title": bad_strings(1, 500),
    "institution": bad_strings(1, 300),
    "category": bad_strings(1, 200),
    "price_idr": st.one_of(bad_counts(None), st.sampled_from([600_000.0, "600000", 10**400, -(10**20)])),
    "duration_minutes": bad_counts(100_000),
    "mode": st.one_of(st.sampled_from(["ONLINE", "self_paced ", "Self_Paced", "", b"offline"]), st.text(max_size=12)),
    "rating": st.one_of(
        st.sampled_from([math.nan, math.inf, -math.inf, -0.0, -0.01, 5.0000001, 6, -1, True, False, "4.5", 10**400]),
        st.builds(Decimal, st.sampled_from(["4.5", "NaN", "7"])),
        st.floats(),
        st.integers(),
    ),
    "rating_count": bad_counts(None),
    "active": st.sampled_from([1, 0, 1.0, 0.0, "true", "false", None, "", [], Decimal(1)]),
    "url": st.one_of(texts(2001, 2010), st.builds(Text, texts(0, 20)), st.binary(max_size=8)),
    "updated_at": st.one_of(
        st.datetimes(),  # naive
        st.datetimes().map(dt.datetime.isoformat),  # naive text
        st.dates().map(dt.date.isoformat),  # a date alone reads as naive midnight
        st.sampled_from(["", "not a time", "2020-04-07T05:06:00+25:00", "2020-13-01T00:00:00Z", "Z", 1586210760]),
        st.dates(),
        aware_times.map(lambda value: value.isoformat().encode()),
        st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(1, 1, 2), timezones=offsets),  # may overflow
    ),
    "raw": st.sampled_from([None, missing]),
}


@st.composite
def course_records(draw: st.DrawFn) -> Any:
    """A valid course record, or one with a single fault."""
    record = {name: draw(strategy) for name, strategy in VALID.items()}
    fault = draw(st.sampled_from(["none", "none", "type", "value", "value", "extra key", "missing key", "not a dict"]))
    if fault == "type":
        record[draw(st.sampled_from(COURSE_KEYS))] = draw(ANY_VALUE)
    elif fault == "value":
        name = draw(st.sampled_from(COURSE_KEYS))
        record[name] = draw(BROKEN[name])
    elif fault == "extra key":
        record[draw(st.one_of(st.text(max_size=12), st.integers()).filter(lambda key: key not in record))] = draw(
            ANY_VALUE
        )
    elif fault == "missing key":
        del record[draw(st.sampled_from(COURSE_KEYS))]
    elif fault == "not a dict":
        return draw(
            st.one_of(
                st.lists(st.integers(), max_size=2), st.none(), st.text(max_size=4), st.just(list(record.items()))
            )
        )
    return record


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(course_records())
def test_load_course_gives_what_the_schema_gives(record: Any) -> None:
    assert_loads_alike(record)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"rating": 4},
        {"rating": None, "url": "https://example.com/c"},
        {"updated_at": dt.datetime(2020, 4, 7, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=7)))},
        {"updated_at": "2020-04-06T22:06:00Z"},
        {"platform": "tokopedia\n"},  # Regexp uses re.match: `$` matches before a final newline
        {"active": 1},  # Boolean(truthy={True}) takes 1, since 1 == True
        {"title": b"Budidaya"},  # String decodes bytes
        {"rating": "4.5"},  # Float converts a numeric string
        {"rating": math.nan},
        {"rating": 10**400},
        {"price_idr": True},
        {"duration_minutes": 100_001},
        {"updated_at": "2020-04-07T05:06:00"},
        {"updated_at": dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=7)))},
        {"raw": None},
        {"surprise": 1},
    ],
)
def test_load_course_on_the_edges_of_the_schema(changes: dict[str, Any]) -> None:
    assert_loads_alike(course(**changes))


def test_load_course_accepts_a_valid_record_without_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(record: Any) -> None:
        raise AssertionError("the schema was asked")

    expected = course_schema.load(course(rating=4))
    monkeypatch.setattr(course_schema, "load", refuse)
    assert load_course(course(rating=4)) == expected
    with pytest.raises(AssertionError):
        load_course(course(rating=7))


@pytest.mark.parametrize("platform", samples.PLATFORMS)
def test_load_course_gives_what_the_schema_gives_on_every_catalogue_sample(platform: str) -> None:
    adapter = get_adapter(platform, samples.credentials()[platform])
    records = 0
    for path in samples.catalogue_files(platform):
        for record in adapter.parse_catalogue(path.read_bytes(), path.name).courses:
            assert_loads_alike(record)
            records += 1
    assert records > 0


def test_a_time_with_no_utc_equivalent_is_a_clear_error_not_a_crash() -> None:
    from marshmallow import ValidationError

    from schemas.fields import UtcDateTime

    with pytest.raises(ValidationError, match="out of range"):
        UtcDateTime().deserialize("0001-01-01T00:00:00+07:00")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"price_idr": 2**63}, "price_idr", "must be at most 9223372036854775807 rupiah"),
        ({"rating_count": 83_189_380_838}, "rating_count", "Must be greater than or equal to 0 and less than"),
    ],
)
def test_a_number_too_large_for_the_hub_to_keep_is_refused_by_name(
    changes: dict[str, Any], field: str, message: str
) -> None:
    """A partner's absurd price or count is a validation error naming the field,
    not a database overflow after the record was accepted."""
    from marshmallow import ValidationError

    from schemas import load_course

    with pytest.raises(ValidationError) as refused:
        load_course(course(**changes))
    assert list(refused.value.messages) == [field]
    assert str(refused.value.messages[field][0]).startswith(message)
