"""The contract every platform adapter honours, checked against its samples.

A platform's test module subclasses :class:`AdapterContract` with data only
(``platform = "..."``); the sample folder and expected.json give the rest.
Platform-specific behaviour (HTTP paging, auth, retries) is tested beside it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from adapters import (
    AdapterError,
    MalformedDelivery,
    SignatureInvalid,
    TimestampStale,
    get_adapter,
)
from adapters.base import Adapter, WebhookRequest
from schemas import course_schema, event_schema, settlement_line_schema, utc_iso
from tests import samples
from webhooks.http_file import read_http_file

COURSE_FIELDS = [
    "title",
    "institution",
    "category",
    "price_idr",
    "duration_minutes",
    "mode",
    "rating",
    "rating_count",
    "active",
    "updated_at",
]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def plain_course(record: dict[str, Any]) -> dict[str, Any]:
    loaded = course_schema.load(record)
    plain = {name: loaded[name] for name in COURSE_FIELDS}
    plain["updated_at"] = utc_iso(loaded["updated_at"])
    plain["external_id"] = loaded["external_id"]
    return plain


class AdapterContract:
    platform: ClassVar[str]

    @pytest.fixture
    def adapter(self) -> Adapter:
        return get_adapter(self.platform, samples.credentials()[self.platform])

    # -- catalogue ---------------------------------------------------------

    def normalized_catalogue(self, adapter: Adapter) -> list[dict[str, Any]]:
        courses: list[dict[str, Any]] = []
        for path in samples.catalogue_files(self.platform):
            page = adapter.parse_catalogue(path.read_bytes(), path.name)
            courses.extend(page.courses)
        return courses

    def test_catalogue_gives_the_expected_plain_courses(self, adapter: Adapter) -> None:
        got = [plain_course(record) for record in self.normalized_catalogue(adapter)]
        want = samples.expected()["courses"][self.platform]
        assert len(got) == len(want)
        by_id = {course["external_id"]: course for course in got}
        for course in want:
            mine = by_id[course["external_id"]]
            for name in COURSE_FIELDS:
                if name == "rating" and course[name] is not None:
                    assert mine[name] == pytest.approx(course[name], abs=0.005), (course["external_id"], name)
                elif name == "updated_at":
                    assert at(mine[name]) == at(course[name]), (course["external_id"], name)
                else:
                    assert mine[name] == course[name], (course["external_id"], name)

    def test_catalogue_records_keep_the_raw_payload(self, adapter: Adapter) -> None:
        for record in self.normalized_catalogue(adapter):
            assert record["platform"] == self.platform
            assert record["raw"], record["external_id"]
            json.dumps(record["raw"])  # stored as JSON

    # -- webhooks ----------------------------------------------------------

    def deliveries(self) -> list[tuple[str, WebhookRequest, dt.datetime]]:
        times = samples.received_at(self.platform)
        return [
            (path.name, read_http_file(path).request, at(times[path.name]))
            for path in samples.webhook_files(self.platform)
        ]

    def test_every_good_delivery_verifies_and_normalizes(self, adapter: Adapter) -> None:
        if adapter.polled:
            pytest.skip("polled platform: no webhooks")
        events = rejected = 0
        for name, request, now in self.deliveries():
            if name.startswith("bad-") or "repeat-of" in name:
                continue  # a redelivery carries the same events again
            verified = adapter.verify_webhook(request, now)
            envelope = adapter.parse_envelope(request, verified)
            assert envelope.events, name
            for raw_event in envelope.events:
                try:
                    event_schema.load(adapter.normalize_event(raw_event, envelope))
                except (AdapterError, ValidationError):
                    rejected += 1
                else:
                    events += 1
        assert events > 0
        # Only sekolahmu's samples carry a broken event inside a good delivery.
        assert rejected == (1 if self.platform == "sekolahmu" else 0)

    def test_bad_deliveries_are_refused_with_their_reason(self, adapter: Adapter) -> None:
        if adapter.polled:
            pytest.skip("polled platform: no webhooks")
        expected_error: dict[str, type[AdapterError]] = {
            "bad-signature.http": SignatureInvalid,
            "bad-stale-timestamp.http": TimestampStale,
            "bad-malformed-body.http": MalformedDelivery,
        }
        seen = 0
        for name, request, now in self.deliveries():
            if not name.startswith("bad-"):
                continue
            seen += 1
            with pytest.raises(expected_error[name]) as caught:
                verified = adapter.verify_webhook(request, now)
                adapter.parse_envelope(request, verified)
            assert str(caught.value)
        assert seen >= 1

    def test_signing_helper_round_trips_and_time_is_checked(self, adapter: Adapter) -> None:
        if adapter.polled:
            pytest.skip("polled platform: no webhooks")
        _name, request, now = next(d for d in self.deliveries() if not d[0].startswith("bad-"))
        envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, now))
        resigned = adapter.sign_webhook(request.body, now, envelope.delivery_id)
        adapter.parse_envelope(resigned, adapter.verify_webhook(resigned, now))
        tampered = WebhookRequest(
            headers=resigned.headers, body=resigned.body + b" ", content_type=resigned.content_type
        )
        with pytest.raises(SignatureInvalid):
            adapter.verify_webhook(tampered, now)

    def test_redelivery_has_the_same_delivery_id(self, adapter: Adapter) -> None:
        if adapter.polled:
            pytest.skip("polled platform: no webhooks")
        ids: dict[str, str | None] = {}
        for name, request, now in self.deliveries():
            if name.startswith("bad-"):
                continue
            ids[name.split("-")[0]] = adapter.parse_envelope(request, adapter.verify_webhook(request, now)).delivery_id
        repeats = [name for name, _, _ in self.deliveries() if "repeat-of" in name]
        assert repeats
        for name in repeats:
            original = name.rsplit("-", 1)[1].removesuffix(".http")
            assert ids[name.split("-")[0]] == ids[original]

    # -- settlement --------------------------------------------------------

    def test_settlement_lines_validate_and_name_known_orders(self, adapter: Adapter) -> None:
        verdicts = samples.expected()["platforms"][self.platform]["settlement"]
        for path in samples.settlement_files(self.platform):
            if path.name.startswith("bad-"):
                continue
            parsed = adapter.parse_settlement(path.read_bytes(), path.name)
            assert parsed.lines
            for line_no, record in parsed.lines:
                assert line_no >= 1
                loaded = settlement_line_schema.load(record)
                assert loaded["order_id"] in verdicts
                assert record["raw"]

    # -- hostile input -----------------------------------------------------

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
    )
    @given(data=st.binary(max_size=2048))
    def test_arbitrary_bytes_give_only_clear_errors(self, adapter: Adapter, data: bytes) -> None:
        calls = [
            lambda: adapter.parse_catalogue(data, "fuzz"),
            lambda: adapter.parse_settlement(data, "fuzz"),
        ]
        if not adapter.polled:
            request = WebhookRequest(headers={}, body=data)
            calls.append(lambda: adapter.verify_webhook(request, dt.datetime.now(dt.UTC)))
            calls.append(lambda: adapter.parse_envelope(request, data))
        else:
            calls.append(lambda: adapter.parse_orders_page(data))
        for call in calls:
            try:
                call()
            except AdapterError as error:
                assert str(error)
