"""Pijar Mahir: the contract on its samples, its HTTP behaviour (``?apikey=``,
one dump with ETag / 304, retries), prices in hundredths of a rupiah, Standard
Webhooks with rotating keys, and the XLSX settlement sheet."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
import requests
import responses
from responses import matchers

from adapters import (
    AdapterError,
    FetchError,
    MalformedDelivery,
    MalformedPayload,
    SettlementRefused,
    SignatureInvalid,
    get_adapter,
)
from adapters.base import Envelope, WebhookRequest
from adapters.http import HttpClient, QueryApiKey
from adapters.pijarmahir import PijarmahirAdapter, rupiah_from_sen
from schemas import event_schema, settlement_line_schema
from tests import samples
from tests.adapters.contract import AdapterContract
from webhooks.http_file import read_http_file

PLATFORM = "pijarmahir"


class TestPijarmahirContract(AdapterContract):
    platform = PLATFORM


# -- fixtures -----------------------------------------------------------------


@pytest.fixture
def settings() -> dict[str, Any]:
    return dict(samples.credentials()[PLATFORM])


@pytest.fixture
def adapter(settings: dict[str, Any]) -> PijarmahirAdapter:
    made = get_adapter(PLATFORM, settings)
    assert isinstance(made, PijarmahirAdapter)
    return made


@pytest.fixture
def dump() -> bytes:
    return (samples.samples(PLATFORM, "catalogue") / "katalog.json").read_bytes()


@pytest.fixture
def etag() -> str:
    return (samples.samples(PLATFORM, "catalogue") / "katalog.etag").read_text().strip()


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


def client(adapter: PijarmahirAdapter, sleeps: list[float], **kwargs: Any) -> HttpClient:
    return HttpClient(adapter.auth(), sleep=sleeps.append, **kwargs)


def serve(api: responses.RequestsMock, adapter: PijarmahirAdapter, **kwargs: Any) -> None:
    api.add(
        responses.GET,
        f"{adapter.base_url}/katalog.json",
        match=[matchers.query_param_matcher({"apikey": adapter.settings["api_key"]})],
        **kwargs,
    )


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


NOW = dt.datetime(2020, 5, 1, 8, 0, tzinfo=dt.UTC)


# -- auth, the dump and ETag --------------------------------------------------------


def test_auth_is_the_apikey_query_parameter(adapter: PijarmahirAdapter, settings: dict[str, Any]) -> None:
    assert adapter.auth() == QueryApiKey("apikey", settings["api_key"])


def test_the_dump_is_fetched_once_with_the_key_in_the_query(
    adapter: PijarmahirAdapter, dump: bytes, etag: str, api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, body=dump, headers={"ETag": etag}, content_type="application/json")
    http = client(adapter, sleeps)
    pages = list(adapter.fetch_catalogue(http))
    assert http.request_count == 1
    assert len(pages) == 1
    page = pages[0]
    assert page.next_cursor is None and not page.not_modified
    assert page.etag == etag
    assert len(page.courses) == len(samples.expected()["courses"][PLATFORM])
    request = api.calls[0].request
    assert parse_qs(urlsplit(request.url or "").query) == {"apikey": [adapter.settings["api_key"]]}
    assert "If-None-Match" not in request.headers
    assert "X-Api-Key" not in request.headers and "Authorization" not in request.headers


def test_a_known_etag_makes_the_request_conditional_and_304_changes_nothing(
    adapter: PijarmahirAdapter, etag: str, api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, status=304, headers={"ETag": etag})
    http = client(adapter, sleeps)
    page = adapter.fetch_catalogue_page(http, {"etag": etag})
    assert api.calls[0].request.headers["If-None-Match"] == etag
    assert page.not_modified
    assert page.courses == []
    assert page.etag == etag
    assert page.next_cursor is None
    assert http.request_count == 1


def test_a_changed_dump_answers_200_with_its_new_etag(
    adapter: PijarmahirAdapter, dump: bytes, etag: str, api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, body=dump, headers={"ETag": '"changed"'})
    page = adapter.fetch_catalogue_page(client(adapter, sleeps), {"etag": etag})
    assert not page.not_modified
    assert page.etag == '"changed"'
    assert page.courses


def test_a_304_to_an_unconditional_request_is_an_error(
    adapter: PijarmahirAdapter, api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, status=304)
    with pytest.raises(FetchError, match="304"):
        adapter.fetch_catalogue_page(client(adapter, sleeps), adapter.catalogue_start())


def test_429_waits_for_retry_after(
    adapter: PijarmahirAdapter, dump: bytes, api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, status=429, headers={"Retry-After": "12"})
    serve(api, adapter, body=dump)
    http = client(adapter, sleeps)
    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert sleeps == [12.0]
    assert http.request_count == 2
    assert page.courses


def test_5xx_then_success(
    adapter: PijarmahirAdapter, dump: bytes, api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, status=500)
    serve(api, adapter, body=dump)
    http = client(adapter, sleeps)
    assert adapter.fetch_catalogue_page(http, adapter.catalogue_start()).courses
    assert http.request_count == 2
    assert len(sleeps) == 1


def test_timeout_then_success(
    adapter: PijarmahirAdapter, dump: bytes, api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, body=requests.exceptions.ConnectTimeout("connect timed out"))
    serve(api, adapter, body=dump)
    assert adapter.fetch_catalogue_page(client(adapter, sleeps), adapter.catalogue_start()).courses
    assert len(api.calls) == 2
    assert len(sleeps) == 1


def test_gives_up_after_the_bounded_number_of_tries(
    adapter: PijarmahirAdapter, api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, status=503)
    http = client(adapter, sleeps, max_tries=3)
    with pytest.raises(FetchError, match="gave up after 3 tries"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert http.request_count == 3
    assert len(sleeps) == 2


def test_a_failed_sync_resumes_from_the_stored_cursor(
    adapter: PijarmahirAdapter, dump: bytes, etag: str, api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, body=dump, headers={"ETag": etag})
    first = adapter.fetch_catalogue_page(client(adapter, sleeps), adapter.catalogue_start())
    stored = json.loads(json.dumps({"etag": first.etag}))  # what the hub keeps after a good sync

    api.reset()
    serve(api, adapter, status=503)
    with pytest.raises(FetchError):
        adapter.fetch_catalogue_page(client(adapter, sleeps, max_tries=2), stored)

    api.reset()
    serve(api, adapter, status=304, headers={"ETag": etag})
    again = client(adapter, sleeps)
    pages = list(adapter.fetch_catalogue(again, stored))
    assert again.request_count == 1
    assert [page.not_modified for page in pages] == [True]
    assert api.calls[0].request.headers["If-None-Match"] == etag


def test_a_bad_cursor_is_refused(adapter: PijarmahirAdapter, sleeps: list[float]) -> None:
    with pytest.raises(AdapterError, match="etag"):
        adapter.fetch_catalogue_page(client(adapter, sleeps), {"etag": 7})


# -- catalogue parsing ----------------------------------------------------------


def one_course(dump: bytes, **changes: Any) -> bytes:
    doc = json.loads(dump)
    doc["pelatihan"] = [{**doc["pelatihan"][0], **changes}]
    return json.dumps(doc).encode()


@pytest.mark.parametrize(("sen", "rupiah"), [(100000000, 1000000), (55000000, 550000), ("25000000", 250000), (0, 0)])
def test_hundredths_become_whole_rupiah(sen: Any, rupiah: int) -> None:
    assert rupiah_from_sen(sen, "harga_sen") == rupiah


@pytest.mark.parametrize("sen", [55000050, 55000001, 5500000.5, "55000050", None, True])
def test_a_part_of_a_rupiah_or_no_amount_is_refused(sen: Any) -> None:
    with pytest.raises(AdapterError, match="harga_sen"):
        rupiah_from_sen(sen, "harga_sen")


def test_a_course_maps_to_the_unified_record(adapter: PijarmahirAdapter, dump: bytes) -> None:
    body = one_course(dump, metode="tatap_muka", penilaian=None, harga_sen=123400, diperbarui="2020-04-01T15:00:00")
    course = adapter.parse_catalogue(body).courses[0]
    assert course["mode"] == "offline"
    assert course["rating"] is None and course["rating_count"] == 0
    assert course["price_idr"] == 1234
    assert course["updated_at"] == dt.datetime(2020, 4, 1, 8, 0, tzinfo=dt.UTC)  # no offset: WIB
    assert course["raw"]["harga_sen"] == 123400


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"harga_sen": 55000050}, "fractional rupiah"),
        ({"metode": "daring"}, "metode"),
        ({"durasi_menit": 90.5}, "durasi_menit"),
        ({"aktif": 1}, "aktif"),
        ({"diperbarui": "08/04/2020"}, "diperbarui"),
        ({"penilaian": [4.5, 10]}, "penilaian"),
        ({"lembaga": None}, "lembaga"),
    ],
)
def test_a_bad_course_is_refused_naming_it(
    adapter: PijarmahirAdapter, dump: bytes, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(MalformedPayload, match=message) as caught:
        adapter.parse_catalogue(one_course(dump, **changes), "katalog.json")
    assert json.loads(dump)["pelatihan"][0]["kode"] in str(caught.value)


@pytest.mark.parametrize("body", [b"", b"[]", b'{"dibuat": "2020-04-16"}', b'{"pelatihan": [1]}', b"{" * 5000])
def test_a_dump_not_of_the_platform_shape_is_refused(adapter: PijarmahirAdapter, body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        adapter.parse_catalogue(body, "katalog.json")


# -- webhooks -------------------------------------------------------------------


def sample_delivery(kind: str) -> tuple[WebhookRequest, dt.datetime]:
    path = next(p for p in samples.webhook_files(PLATFORM) if p.name.endswith(f"-{kind}.http"))
    now = dt.datetime.fromisoformat(samples.received_at(PLATFORM)[path.name].replace("Z", "+00:00"))
    return read_http_file(path).request, now


def test_each_kind_normalizes(adapter: PijarmahirAdapter) -> None:
    seen = {}
    for kind in ("purchase", "cancellation", "completion"):
        request, now = sample_delivery(kind)
        envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, now))
        event = adapter.normalize_event(envelope.events[0], envelope)
        loaded = event_schema.load(event)
        body = json.loads(request.body)
        assert loaded["kind"] == kind
        assert loaded["event_id"] == request.header("webhook-id")
        assert loaded["order_id"] == body["data"]["id_transaksi"]
        assert loaded["course_external_id"] == body["data"]["kode_pelatihan"]
        assert loaded["amount_idr"] * 100 == body["data"]["nominal_sen"]
        assert loaded["occurred_at"] == dt.datetime.fromisoformat(body["timestamp"])
        assert event["raw"] == body
        seen[kind] = loaded
    completion = seen["completion"]
    assert completion["certificate_number"] and completion["certificate_url"]
    assert isinstance(completion["score"], float)


PURCHASE: dict[str, Any] = {
    "type": "transaksi.lunas",
    "timestamp": "2020-05-01T14:45:00+07:00",
    "data": {
        "id_transaksi": "PJM/TRX/1",
        "kode_pelatihan": "PJM-1",
        "nomor_kartu": "4111111111111111",
        "kode_voucher": "PJM-X",
        "nominal_sen": 10000000,
    },
}


def envelope_for(body: dict[str, Any]) -> Envelope:
    return Envelope(delivery_id="msg_test", events=[body])


def test_a_time_without_offset_is_wib(adapter: PijarmahirAdapter) -> None:
    body = {**PURCHASE, "timestamp": "2020-05-01T14:45:00"}
    event = adapter.normalize_event(body, envelope_for(body))
    assert event["occurred_at"] == dt.datetime(2020, 5, 1, 7, 45, tzinfo=dt.UTC)
    assert event["amount_idr"] == 100000


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"type": "transaksi.menunggu"}, "unknown event type"),
        ({"timestamp": "1 Mei 2020"}, "timestamp"),
        ({"data": {**PURCHASE["data"], "id_transaksi": None}}, "id_transaksi"),
        ({"data": {**PURCHASE["data"], "nominal_sen": 10000050}}, "fractional rupiah"),
        ({"data": None}, "data"),
    ],
)
def test_an_event_that_cannot_be_mapped_names_its_fault(
    adapter: PijarmahirAdapter, changes: dict[str, Any], message: str
) -> None:
    body = {**PURCHASE, **changes}
    with pytest.raises(AdapterError, match=message):
        adapter.normalize_event(body, envelope_for(body))


@pytest.mark.parametrize("body", [b"not json", b"[]", b"null", b'{"type": "transaksi'])
def test_a_body_not_of_the_outer_shape_is_a_malformed_delivery(adapter: PijarmahirAdapter, body: bytes) -> None:
    request = adapter.sign_webhook(body, NOW)
    with pytest.raises(MalformedDelivery):
        adapter.parse_envelope(request, adapter.verify_webhook(request, NOW))


def test_key_rotation_accepts_either_secret(settings: dict[str, Any]) -> None:
    old, new = settings["webhook_secret"], new_secret()
    receiver = PijarmahirAdapter({**settings, "webhook_secret": [old, new]})
    body = json.dumps(PURCHASE).encode()
    for secret in (old, new):
        request = PijarmahirAdapter({**settings, "webhook_secret": secret}).sign_webhook(body, NOW)
        assert receiver.verify_webhook(request, NOW) == body
    request, now = sample_delivery("purchase")
    assert receiver.verify_webhook(request, now) == request.body
    with pytest.raises(SignatureInvalid):
        PijarmahirAdapter({**settings, "webhook_secret": new}).verify_webhook(request, now)


def test_ruangguru_signatures_do_not_verify_here(adapter: PijarmahirAdapter) -> None:
    ruangguru = get_adapter("ruangguru", samples.credentials()["ruangguru"])
    request = ruangguru.sign_webhook(json.dumps(PURCHASE).encode(), NOW)
    with pytest.raises(SignatureInvalid):
        adapter.verify_webhook(request, NOW)


# -- settlement -----------------------------------------------------------------


def sample_rows() -> list[list[Any]]:
    path = samples.settlement_files(PLATFORM)[0]
    sheet = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))["Rekap"]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def workbook(rows: list[list[Any]], sheet: str = "Rekap") -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def refusal(adapter: PijarmahirAdapter, data: bytes) -> SettlementRefused:
    with pytest.raises(SettlementRefused) as caught:
        adapter.parse_settlement(data, "rekap.xlsx")
    return caught.value


def test_settlement_gives_the_period_and_sheet_rows(adapter: PijarmahirAdapter) -> None:
    path = samples.settlement_files(PLATFORM)[0]
    parsed = adapter.parse_settlement(path.read_bytes(), path.name)
    rows = sample_rows()
    assert parsed.period_end == dt.date(2020, 6, 30)
    assert [number for number, _ in parsed.lines] == list(range(4, len(rows) + 1))
    for number, record in parsed.lines:
        row = rows[number - 1]
        loaded = settlement_line_schema.load(record)
        assert loaded["order_id"] == row[0]
        assert loaded["amount_idr"] == row[5]
        assert loaded["paid_at"] == row[4].replace(tzinfo=dt.timezone(dt.timedelta(hours=7)))
        json.dumps(record["raw"])


def test_blank_rows_are_skipped_and_numbers_stay_sheet_rows(adapter: PijarmahirAdapter) -> None:
    rows = sample_rows()
    data = workbook([*rows[:4], [None] * 6, *rows[4:6], [], [" "]])
    parsed = adapter.parse_settlement(data)
    assert [number for number, _ in parsed.lines] == [4, 6, 7]


def test_a_date_cell_in_row_2_is_the_period_end(adapter: PijarmahirAdapter) -> None:
    rows = sample_rows()
    rows[1] = ["Periode s.d.", dt.datetime(2020, 7, 31)]
    assert adapter.parse_settlement(workbook(rows)).period_end == dt.date(2020, 7, 31)


@pytest.mark.parametrize(
    ("text", "end"),
    [("Periode: 1 April - 30 Juni 2020", dt.date(2020, 6, 30)), ("Periode kuartal kedua", None)],
)
def test_the_period_text_in_row_2(adapter: PijarmahirAdapter, text: str, end: dt.date | None) -> None:
    rows = sample_rows()
    rows[1] = [text]
    assert adapter.parse_settlement(workbook(rows)).period_end == end


def test_a_period_date_that_does_not_exist_is_refused(adapter: PijarmahirAdapter) -> None:
    rows = sample_rows()
    rows[1] = ["Periode s.d. 2020-06-31"]
    assert refusal(adapter, workbook(rows)).line == 2


def test_cells_a_spreadsheet_turned_into_numbers_still_read(adapter: PijarmahirAdapter) -> None:
    rows = sample_rows()
    paid = rows[3][4]
    rows[3][2] = int(rows[3][2])  # the card number as a number
    rows[3][4] = (paid - dt.datetime(1899, 12, 30)) / dt.timedelta(days=1)  # the serial, without its format
    parsed = adapter.parse_settlement(workbook(rows[:4]))
    record = parsed.lines[0][1]
    assert record["card_number"] == str(rows[3][2])
    assert record["paid_at"] == paid.replace(tzinfo=dt.timezone(dt.timedelta(hours=7)))


def test_a_wrong_header_refuses_the_file(adapter: PijarmahirAdapter) -> None:
    rows = sample_rows()
    rows[2] = [*rows[2][:5], "Nominal (sen)"]
    error = refusal(adapter, workbook(rows))
    assert error.line == 3
    assert "header" in str(error)


def test_a_header_with_an_extra_column_refuses_the_file(adapter: PijarmahirAdapter) -> None:
    rows = sample_rows()
    rows[2] = [*rows[2], "Keterangan"]
    assert refusal(adapter, workbook(rows)).line == 3


def test_a_fractional_rupiah_refuses_the_file_at_its_row(adapter: PijarmahirAdapter) -> None:
    rows = sample_rows()
    rows[5][5] = rows[5][5] + 0.5
    error = refusal(adapter, workbook(rows))
    assert error.line == 6
    assert "fractional rupiah" in str(error)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (4, "kemarin", "Tanggal Bayar"),
        (4, None, "Tanggal Bayar"),
        (5, None, "Nominal"),
        (5, "lima ratus ribu", "Nominal"),
        (0, None, "ID Transaksi"),
        (6, "catatan", "right of the last column"),
    ],
)
def test_a_bad_line_refuses_the_file(adapter: PijarmahirAdapter, column: int, value: Any, message: str) -> None:
    rows = sample_rows()
    row = rows[6] + [None]
    row[column] = value
    rows[6] = row
    error = refusal(adapter, workbook(rows))
    assert error.line == 7
    assert message in str(error)


def test_a_workbook_without_the_sheet_is_refused(adapter: PijarmahirAdapter) -> None:
    assert "Rekap" in str(refusal(adapter, workbook(sample_rows(), sheet="Sheet1")))


@pytest.mark.parametrize("rows", [[], [["Rekapitulasi"], ["Periode"]]])
def test_a_sheet_without_claims_is_refused(adapter: PijarmahirAdapter, rows: list[list[Any]]) -> None:
    refusal(adapter, workbook(rows or sample_rows()[:3]))


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04 not really a zip", b"ID Transaksi,Kode Pelatihan\n"])
def test_a_file_that_is_not_a_workbook_is_refused(adapter: PijarmahirAdapter, data: bytes) -> None:
    assert "XLSX" in str(refusal(adapter, data))
