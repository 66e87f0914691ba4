"""What every platform adapter does and returns.

An adapter is one small class per platform (one module each) over
:class:`Adapter`. It turns the platform's own formats into the unified
records of ``schemas/`` as plain dicts, each with the platform's payload
kept under ``raw``; the hub validates those dicts with the schemas and
stores them. An adapter never touches the database.

The methods, and what they return:

``catalogue_start()`` / ``fetch_catalogue_page(http, cursor)``
    The live catalogue, one page at a time. ``cursor`` is a JSON-serialisable
    dict naming the page to fetch (``catalogue_start()`` gives the first);
    the result is a :class:`CataloguePage` with the courses and the cursor of
    the next page (``None`` after the last). The hub stores that cursor after
    applying each page, which is how a failed sync resumes where it stopped.
``parse_catalogue(body, name)``
    One saved API answer (a page, a dump, a feed) as a :class:`CataloguePage`;
    ``next_cursor`` is whatever paging signal the page carries.
``verify_webhook(request, now)``
    Raises :class:`SignatureInvalid` or :class:`TimestampStale`; returns the
    verified body (for a JWS, its payload bytes).
``parse_envelope(request, verified)``
    The outer shape of a verified delivery: its delivery id for
    deduplication and the events it carries (still in the platform's form).
    Raises :class:`MalformedDelivery` when the body is not of that shape.
``normalize_event(raw_event, envelope)``
    One event as a unified Event dict. Raises :class:`AdapterError` for an
    event that cannot be mapped; the hub records it as rejected and goes on
    with the others of the delivery.
``fetch_orders_page(http, updated_since, page)`` / ``parse_orders_page(body)`` / ``order_events(order)``
    Polled platforms only: a page of the orders API (the orders and the next
    page number) and the events one order stands for (each with a stable
    ``event_id`` so that a reappearing order yields only its new events);
    ``order_updated_at(order)`` gives the polling watermark.
``parse_settlement(data, name)``
    A claim file as a :class:`SettlementFile`. Raises
    :class:`SettlementRefused` (with the line) when the file cannot be used
    whole: unparseable, an invalid line, or control totals that disagree.
``settlement_table(data, name, accept)``
    Flat formats only: the same file read in bulk when it is plain, as an
    :class:`adapters.claim_table.ClaimTable` (the lines as text), else None.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import AdapterError, MalformedDelivery, MalformedPayload
from .http import Auth, HttpClient

if TYPE_CHECKING:
    from .claim_table import Accept, ClaimTable

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")
"""A platform's time without an offset is Western Indonesia Time."""

Record = dict[str, Any]


@dataclass
class CataloguePage:
    courses: list[Record]
    next_cursor: dict[str, Any] | None = None
    not_modified: bool = False
    """True when the platform answered 304: nothing changed since the last sync."""
    etag: str | None = None


@dataclass(frozen=True)
class WebhookRequest:
    """A delivery as it reached the hub: headers (case-insensitive lookup) and raw bytes."""

    headers: Mapping[str, str]
    body: bytes
    content_type: str = ""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


@dataclass
class Envelope:
    delivery_id: str | None
    """The platform's id of this delivery (or of its single event); None where it gives none."""
    events: list[Any]
    """The events in the platform's own form, in the order of the delivery."""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class SettlementFile:
    lines: list[tuple[int, Record]]
    """(line number in the file, unified SettlementLine dict), in file order."""
    period_end: dt.date | None = None
    """The period's end where the format states one."""


class Adapter:
    """Base of every platform adapter. Subclasses set ``name`` and implement
    what their platform offers; what it does not offer raises AdapterError."""

    name: ClassVar[str]
    polled: ClassVar[bool] = False
    """True for platforms whose events are polled (no webhooks)."""

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        self.settings: Mapping[str, Any] = settings or {}

    # -- connection -------------------------------------------------------
    def setting(self, key: str) -> Any:
        try:
            return self.settings[key]
        except KeyError:
            raise AdapterError(f"{self.name}: the platform connection has no {key!r}") from None

    @property
    def base_url(self) -> str:
        return str(self.setting("base_url")).rstrip("/")

    def auth(self) -> Auth:
        return None

    def http_client(self, **kwargs: Any) -> HttpClient:
        return HttpClient(self.auth(), **kwargs)

    # -- catalogue --------------------------------------------------------
    def catalogue_start(self) -> dict[str, Any]:
        return {}

    def fetch_catalogue_page(self, http: HttpClient, cursor: dict[str, Any]) -> CataloguePage:
        raise AdapterError(f"{self.name} has no catalogue API")

    def parse_catalogue(self, body: bytes, name: str = "") -> CataloguePage:
        raise AdapterError(f"{self.name} has no catalogue format")

    def fetch_catalogue(self, http: HttpClient, cursor: dict[str, Any] | None = None) -> Iterator[CataloguePage]:
        """Every page from ``cursor`` (the first page when None) to the last."""
        next_cursor: dict[str, Any] | None = self.catalogue_start() if cursor is None else cursor
        while next_cursor is not None:
            page = self.fetch_catalogue_page(http, next_cursor)
            yield page
            next_cursor = page.next_cursor

    # -- webhooks ---------------------------------------------------------
    def verify_webhook(self, request: WebhookRequest, now: dt.datetime) -> bytes:
        raise AdapterError(f"{self.name} sends no webhooks")

    def parse_envelope(self, request: WebhookRequest, verified: bytes) -> Envelope:
        raise AdapterError(f"{self.name} sends no webhooks")

    def normalize_event(self, raw_event: Any, envelope: Envelope) -> Record:
        raise AdapterError(f"{self.name} sends no webhooks")

    def sign_webhook(self, body: bytes, now: dt.datetime, delivery_id: str | None = None) -> WebhookRequest:
        """A delivery signed with the sandbox credentials, as the platform would send it
        (tests and ``hub sandbox send``)."""
        raise AdapterError(f"{self.name} sends no webhooks")

    # -- polled orders ----------------------------------------------------
    def parse_orders_page(self, body: bytes) -> tuple[list[Any], int | None]:
        raise AdapterError(f"{self.name} has no orders API")

    def order_events(self, order: Any) -> list[Record]:
        raise AdapterError(f"{self.name} has no orders API")

    def order_updated_at(self, order: Any) -> dt.datetime:
        raise AdapterError(f"{self.name} has no orders API")

    def fetch_orders_page(
        self, http: HttpClient, updated_since: dt.datetime | str, page: int = 1
    ) -> tuple[list[Any], int | None]:
        raise AdapterError(f"{self.name} has no orders API")

    # -- settlement -------------------------------------------------------
    def parse_settlement(self, data: bytes, name: str = "") -> SettlementFile:
        raise AdapterError(f"{self.name} has no settlement format")

    def settlement_table(self, data: bytes, name: str = "", accept: Accept | None = None) -> ClaimTable | None:
        """The claim file read in bulk (adapters.claim_table), or None: the
        platform has no bulk reader, the file is not plain, or ``accept``
        refused a block of it. The hub then reads it with ``parse_settlement``."""
        return None


# -- helpers shared by adapters -------------------------------------------


def load_json(body: bytes, what: str, error: type[AdapterError] = MalformedPayload) -> Any:
    """A platform's JSON document; anything ``json.loads`` refuses (not UTF-8, not JSON,
    an integer too long to convert, nesting too deep for the parser) raises ``error``."""
    try:
        return json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise error(f"{what} is not valid JSON: {exc}") from exc
    except RecursionError:
        raise error(f"{what} is nested too deeply to be a platform's JSON") from None


def expect_dict(value: Any, what: str, error: type[AdapterError] = MalformedDelivery) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise error(f"{what} must be a JSON object")
    return value


def load_json_object(body: bytes, what: str, error: type[AdapterError]) -> dict[str, Any]:
    """A JSON document that must be an object (a page, a delivery body); ``error`` otherwise."""
    return expect_dict(load_json(body, what, error), what, error)


def whole_rupiah(value: Any, what: str = "amount") -> int:
    """An int from a platform's amount: an int, or a decimal string whose
    fraction is zero (``"1500000.00"``). A fractional rupiah is an error."""
    if isinstance(value, bool):
        raise AdapterError(f"{what} is not an amount: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise AdapterError(f"{what} has a fractional rupiah: {value!r}")
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise AdapterError(f"{what} is not a number: {value[:40]!r}") from None
        if not number.is_finite():
            raise AdapterError(f"{what} is not a number: {value[:40]!r}")
        if number != number.to_integral_value():
            raise AdapterError(f"{what} has a fractional rupiah: {value!r}")
        return int(number)
    raise AdapterError(f"{what} is not an amount: {value!r}")


def wib(naive: dt.datetime) -> dt.datetime:
    """Attach WIB to a time the platform gave without an offset."""
    return naive.replace(tzinfo=WIB) if naive.tzinfo is None else naive


def iso_instant(value: Any, what: str, *, zone: dt.tzinfo = WIB) -> dt.datetime:
    """An ISO 8601 time; one without an offset is in ``zone``: WIB, unless the
    platform documents the field in another zone."""
    if not isinstance(value, str):
        raise AdapterError(f"{what} is not a time: {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise AdapterError(f"{what} is not an ISO 8601 time: {value[:40]!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def wib_time(value: Any, what: str, fmt: str, shape: str) -> dt.datetime:
    """A WIB time written in the platform's ``fmt`` (a ``strptime`` format that
    ``shape``, such as ``DD/MM/YYYY HH:MM``, spells out in the message)."""
    if not isinstance(value, str):
        raise AdapterError(f"{what} is not a time: {value!r}")
    try:
        return wib(dt.datetime.strptime(value.strip(), fmt))
    except ValueError:
        raise AdapterError(f"{what} is not a {shape} time: {value[:40]!r}") from None


def epoch_instant(value: Any, what: str, *, millis: bool = False) -> dt.datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AdapterError(f"{what} is not a Unix time: {value!r}")
    try:
        return dt.datetime.fromtimestamp(value / 1000 if millis else value, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise AdapterError(f"{what} is out of range: {value!r}") from None
