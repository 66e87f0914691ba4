"""The finance workspace over HTTP: logging in, who may do what, CSRF, the
pages on a real reconciled run, and both languages."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from hub import create_app
from hub.db import db
from hub.models import BREAK_STATES, RUN_STATES, SETTLEMENT_VERDICTS, STAFF_ROLES, SettlementBreak, SettlementRun
from hub.settlement import AGE_BUCKETS, break_id, run_results
from hub.staff import disable_staff
from hub.workspace import views
from hub.workspace.formatting import rupiah
from hub.workspace.i18n import LANGUAGES, MESSAGES
from tests.funding_world import World
from tests.workspace_support import (
    NOW,
    PASSWORD,
    claim_file,
    log_in,
    logged_in,
    make_staff,
    token_of,
    tokopedia_world,
    upload,
)

TEMPLATES = Path(__file__).resolve().parents[1] / "hub" / "workspace" / "templates" / "workspace"


@pytest.fixture
def clocked(app: Flask) -> Iterator[Flask]:
    """The app at a fixed moment (2 July 2020, 10:00 WIB), so ages are known, in an app context."""
    app.config["HUB_CLOCK"] = lambda: NOW
    with app.app_context():
        yield app


@pytest.fixture
def finance(clocked: Flask) -> FlaskClient:
    return logged_in(clocked, "fina", "finance")


@pytest.fixture
def reconciled(clocked: Flask, world: World, finance: FlaskClient) -> int:
    """The tokopedia claim file uploaded through the workspace and reconciled: its run id."""
    tokopedia_world(world)
    response = upload(finance, claim_file())
    assert response.status_code == 303, response.get_data(as_text=True)
    run_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    with db.sessions() as session:
        run = session.get(SettlementRun, run_id)
        assert run is not None and run.status == "done"
    return run_id


def text(response: object) -> str:
    body: str = response.get_data(as_text=True)  # type: ignore[attr-defined]
    return body


def runs_count() -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(SettlementRun)) or 0)


def a_break(order_id: str, verdict: str) -> SettlementBreak:
    with db.sessions() as session:
        found = session.get(SettlementBreak, break_id("tokopedia", order_id, verdict))
        assert found is not None
        return found


# -- sessions ---------------------------------------------------------------------------


def _example_url(app: Flask, rule: object) -> str:
    values = {"run_id": 1, "break_id": "0123456789abcdef", "fmt": "csv", "filename": "workspace.css"}
    arguments = {name: values[name] for name in rule.arguments}  # type: ignore[attr-defined]
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **arguments)  # type: ignore[attr-defined]


def test_no_page_answers_without_a_session(app: Flask, client: FlaskClient) -> None:
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("workspace.")]
    checked = 0
    for rule in rules:
        if rule.endpoint in ("workspace.login", "workspace.static"):
            continue
        url = _example_url(app, rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code == 303, (method, url)
            assert response.headers["Location"].startswith("/finance/login"), (method, url)
            checked += 1
    assert checked >= 12
    assert client.get("/finance/static/workspace.css").status_code == 200


def test_logging_in_and_out(clocked: Flask) -> None:
    make_staff(clocked, "fina", "finance")
    client = clocked.test_client()
    wrong = log_in(client, "fina", "not the password at all")
    assert wrong.status_code == 401
    assert "Nama pengguna atau kata sandi salah" in text(wrong)
    assert client.get("/finance/runs").status_code == 303

    right = log_in(client, "FINA", PASSWORD)  # user names are not case-sensitive
    assert right.status_code == 303 and right.headers["Location"] == "/finance/runs"
    page = client.get("/finance/runs")
    assert page.status_code == 200 and "Masuk sebagai fina (keuangan)" in text(page)

    out = client.post("/finance/logout", data={"csrf_token": token_of(client, "/finance/runs")})
    assert out.status_code == 303
    assert client.get("/finance/runs").status_code == 303


def test_login_returns_to_the_page_asked_for_but_never_elsewhere(clocked: Flask) -> None:
    make_staff(clocked, "fina", "finance")
    client = clocked.test_client()
    first = client.get("/finance/breaks?status=resolved")
    assert first.headers["Location"] == "/finance/login?next=/finance/breaks?status%3Dresolved"
    token = token_of(client, first.headers["Location"])
    back = client.post(
        "/finance/login",
        data={"csrf_token": token, "username": "fina", "password": PASSWORD, "next": "/finance/breaks?status=resolved"},
    )
    assert back.headers["Location"] == "/finance/breaks?status=resolved"
    for elsewhere in ("https://evil.example/finance/", "//evil.example/finance/", "/webhooks/tokopedia"):
        other = clocked.test_client()
        token = token_of(other, "/finance/login")
        answer = other.post(
            "/finance/login", data={"csrf_token": token, "username": "fina", "password": PASSWORD, "next": elsewhere}
        )
        assert answer.headers["Location"] == "/finance/runs", elsewhere


def test_a_disabled_account_cannot_log_in_and_its_sessions_end(clocked: Flask) -> None:
    client = logged_in(clocked, "fina", "finance")
    assert client.get("/finance/runs").status_code == 200
    with db.transaction() as session:
        disable_staff(session, "fina", NOW)
    assert client.get("/finance/runs").status_code == 303
    assert log_in(clocked.test_client(), "fina").status_code == 401


def test_repeated_failed_logins_are_throttled(clocked: Flask) -> None:
    make_staff(clocked, "fina", "finance")
    client = clocked.test_client()
    for _ in range(5):
        assert log_in(client, "fina", "a wrong password!").status_code == 401
    throttled = log_in(client, "fina")  # even the right password, until the window ends
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert "Terlalu banyak percobaan masuk" in text(throttled)
    make_staff(clocked, "vera", "viewer")
    assert log_in(client, "vera").status_code == 303  # another user name from the same address


def test_the_session_cookie_is_secure_httponly_and_samesite(hub_env: dict[str, str]) -> None:
    app = create_app(dict(hub_env))  # not testing: the production setting
    assert app.config["SESSION_COOKIE_SECURE"] is True
    make_staff(app, "fina", "finance")
    client = app.test_client()
    page = client.get("/finance/login", base_url="https://hub.example")
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-hub-session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    insecure = create_app({**hub_env, "HUB_INSECURE_COOKIES": "1"})
    assert insecure.config["SESSION_COOKIE_SECURE"] is False
    assert insecure.config["SESSION_COOKIE_NAME"] == "hub-session"


# -- roles and CSRF -------------------------------------------------------------------------------


def test_a_viewer_sees_and_downloads_but_cannot_upload_or_resolve(clocked: Flask, reconciled: int) -> None:
    viewer = logged_in(clocked, "vera", "viewer")
    for page in ("/finance/runs", f"/finance/runs/{reconciled}", "/finance/breaks", "/finance/summary"):
        assert viewer.get(page).status_code == 200, page
    assert viewer.get(f"/finance/runs/{reconciled}/verdicts.csv").status_code == 200
    runs_page = text(viewer.get("/finance/runs"))
    assert "/finance/upload" not in runs_page  # no link to what the role may not do

    token = token_of(viewer, "/finance/runs")
    assert viewer.get("/finance/upload").status_code == 403
    before = runs_count()
    refused = viewer.post(
        "/finance/upload",
        data={"csrf_token": token, "platform": "tokopedia", "file": (io.BytesIO(claim_file() + b"\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 403
    assert "Peran Anda (pemantau) tidak boleh melakukan ini." in text(refused)
    assert runs_count() == before

    unknown = break_id("tokopedia", "INV/9", "unknown_order")
    page = text(viewer.get(f"/finance/breaks/{unknown}"))
    assert 'name="note"' not in page  # no form for a viewer
    resolve = viewer.post(
        f"/finance/breaks/{unknown}", data={"csrf_token": token, "status": "resolved", "note": "paid by hand"}
    )
    assert resolve.status_code == 403
    assert a_break("INV/9", "unknown_order").status == "open"
    assert viewer.post(f"/finance/runs/{reconciled}/requeue", data={"csrf_token": token}).status_code == 403


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    clocked: Flask, reconciled: int, finance: FlaskClient
) -> None:
    unknown = break_id("tokopedia", "INV/9", "unknown_order")
    before = runs_count()
    for token in (None, "", "not-the-token-of-this-session-at-all-0123456789"):
        form = {"status": "resolved", "note": "paid by hand"} | ({"csrf_token": token} if token is not None else {})
        refused = finance.post(f"/finance/breaks/{unknown}", data=form)
        assert refused.status_code == 400
        assert "token CSRF hilang atau salah" in text(refused)
        upload_form = {"platform": "tokopedia", "file": (io.BytesIO(b"INV/0\n"), "other-2020-06-30.csv")}
        if token is not None:
            upload_form["csrf_token"] = token
        assert finance.post("/finance/upload", data=upload_form, content_type="multipart/form-data").status_code == 400
    assert a_break("INV/9", "unknown_order").status == "open"
    assert runs_count() == before
    # Another session's token is no good either.
    other = logged_in(clocked, "fina2", "finance")
    foreign = token_of(other, "/finance/runs")
    refused = finance.post(
        f"/finance/breaks/{unknown}", data={"csrf_token": foreign, "status": "resolved", "note": "paid by hand"}
    )
    assert refused.status_code == 400
    # The login form has its token too.
    assert (
        clocked.test_client().post("/finance/login", data={"username": "fina", "password": PASSWORD}).status_code == 400
    )
    # A client asking for JSON gets the hub's problem document.
    problem = finance.post(
        f"/finance/breaks/{unknown}", data={"status": "resolved"}, headers={"Accept": "application/json"}
    )
    assert problem.status_code == 400 and problem.mimetype == "application/problem+json"


# -- the pages on a reconciled run ---------------------------------------------------------------------


def test_an_upload_is_reconciled_and_its_run_shows_totals_and_verdicts(
    reconciled: int, finance: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = text(finance.get(f"/finance/runs/{reconciled}"))
    assert f"Berkas diterima sebagai rekonsiliasi {reconciled}." in page
    assert "settlement-2020-06-30.csv" in page and "diunggah oleh fina" in page
    assert "Rp 2.750.000" in page  # claimed
    assert "Rp 800.000" in page  # payable: INV/0 and INV/2
    assert "Rp 1.950.000" in page  # disputed: INV/1 and INV/9
    for label in ("cocok", "jumlah tidak sesuai", "pesanan tidak dikenal", "tidak diklaim"):
        assert label in page
    assert "INV/3" in page  # the funded purchase no claim names

    only = text(finance.get(f"/finance/runs/{reconciled}?verdict=amount_mismatch"))
    table = only.split("<tbody>")[-1]
    assert "INV/1" in table and "INV/0" not in table and "INV/9" not in table
    assert "Rp 450.000" in table

    # Pages of two: keyset links forward and back.
    monkeypatch.setattr(views, "VERDICTS_PER_PAGE", 2)
    first = text(finance.get(f"/finance/runs/{reconciled}"))
    assert _orders(first) == ["INV/0", "INV/1"]
    after = re.search(r'href="([^"]*after=\d+)" rel="next"', first)
    assert after
    second = text(finance.get(after.group(1).replace("&amp;", "&")))
    assert _orders(second) == ["INV/9", "INV/2"]
    back = re.search(r'href="([^"]*before=\d+)" rel="prev"', second)
    assert back
    assert _orders(text(finance.get(back.group(1).replace("&amp;", "&")))) == ["INV/0", "INV/1"]
    third = re.search(r'href="([^"]*after=\d+)" rel="next"', second)
    assert third
    last = text(finance.get(third.group(1).replace("&amp;", "&")))
    assert _orders(last) == ["INV/3"] and 'rel="next"' not in last


def _orders(page: str) -> list[str]:
    return re.findall(r"<td>(INV/\d+)</td>", page.split("<tbody>")[-1])


def test_the_same_file_again_shows_the_earlier_run(reconciled: int, finance: FlaskClient) -> None:
    again = upload(finance, claim_file(), name="renamed-2020-06-30.csv")
    assert again.headers["Location"] == f"/finance/runs/{reconciled}"
    assert "sudah pernah diunggah oleh fina" in text(finance.get(again.headers["Location"]))
    assert runs_count() == 1


def test_a_refused_file_shows_its_reason(clocked: Flask, world: World, finance: FlaskClient) -> None:
    tokopedia_world(world)
    response = upload(finance, claim_file(), name="claims.csv")  # no date anywhere
    page = text(finance.get(response.headers["Location"]))
    assert "Berkas ditolak seluruhnya" in page and "no period end" in page
    response = upload(finance, claim_file(), name="claims.csv", period="2020-06-30")
    assert "Rp 800.000" in text(finance.get(response.headers["Location"]))


def test_bad_upload_forms_say_what_is_wrong(clocked: Flask, world: World, finance: FlaskClient) -> None:
    tokopedia_world(world)
    no_platform = upload(finance, claim_file(), platform="")
    assert no_platform.status_code == 400 and "Pilih salah satu platform yang dikenal." in text(no_platform)
    bad_period = upload(finance, claim_file(), period="30/06/2020")
    assert bad_period.status_code == 400 and "Akhir periode harus berupa tanggal TTTT-BB-HH." in text(bad_period)
    token = token_of(finance, "/finance/upload")
    no_file = finance.post(
        "/finance/upload", data={"csrf_token": token, "platform": "tokopedia"}, content_type="multipart/form-data"
    )
    assert no_file.status_code == 400 and "Pilih berkas klaim" in text(no_file)
    assert runs_count() == 0


def test_the_runs_page_filters_by_platform_and_period_with_totals(reconciled: int, finance: FlaskClient) -> None:
    page = text(finance.get("/finance/runs?platform=tokopedia&period=2020-06-30"))
    assert f'href="/finance/runs/{reconciled}"' in page
    assert "Rp 2.750.000" in page and "Rp 800.000" in page
    assert "Jumlah rekonsiliasi yang selesai (1)" in page
    other = text(finance.get("/finance/runs?period=2020-05-31"))
    assert f'href="/finance/runs/{reconciled}"' not in other
    assert "Belum ada rekonsiliasi" in other
    assert finance.get("/finance/runs?platform=nowhere").status_code == 400
    assert finance.get("/finance/runs?period=June").status_code == 400


def test_resolving_a_break_needs_a_note_and_records_who(reconciled: int, finance: FlaskClient) -> None:
    unknown = break_id("tokopedia", "INV/9", "unknown_order")
    page = text(finance.get(f"/finance/breaks/{unknown}"))
    assert "pesanan tidak dikenal" in page and "Rp 1.500.000" in page
    token = token_of(finance, f"/finance/breaks/{unknown}")
    without = finance.post(f"/finance/breaks/{unknown}", data={"csrf_token": token, "status": "resolved", "note": " "})
    assert without.status_code == 400 and "Tulis catatan" in text(without)
    assert a_break("INV/9", "unknown_order").status == "open"

    done = finance.post(
        f"/finance/breaks/{unknown}", data={"csrf_token": token, "status": "written_off", "note": "test order"}
    )
    assert done.status_code == 303
    changed = a_break("INV/9", "unknown_order")
    assert (changed.status, changed.note, changed.changed_by, changed.changed_at) == (
        "written_off", "test order", "fina", NOW,
    )  # fmt: skip
    assert "dihapusbukukan" in text(finance.get(f"/finance/breaks/{unknown}"))
    assert finance.get("/finance/breaks/0000000000000000").status_code == 404
    bad = finance.post(f"/finance/breaks/{unknown}", data={"csrf_token": token, "status": "closed", "note": "x"})
    assert bad.status_code == 400


def test_the_breaks_page_lists_open_breaks_with_ages_and_filters(
    clocked: Flask, reconciled: int, finance: FlaskClient
) -> None:
    page = text(finance.get("/finance/breaks"))
    assert "3 selisih, Rp 2.350.000" in page  # INV/1 450.000, INV/9 1.500.000, INV/3 400.000
    for order in ("INV/1", "INV/9", "INV/3"):
        assert f"<td>{order}</td>" in page
    assert "0–1 hari" in page

    only = text(finance.get("/finance/breaks?verdict=not_claimed"))
    assert "<td>INV/3</td>" in only and "<td>INV/9</td>" not in only
    assert "1 selisih" in text(finance.get("/finance/breaks?verdict=unknown_order&platform=tokopedia"))
    assert "Tidak ada selisih" in text(finance.get("/finance/breaks?age=over+30"))

    clocked.config["HUB_CLOCK"] = lambda: NOW + dt.timedelta(days=40)
    aged = text(finance.get("/finance/breaks?age=over+30"))
    assert "3 selisih" in aged and "lebih dari 30 hari" in aged and "40 hari" in aged
    assert "Tidak ada selisih" in text(finance.get("/finance/breaks?age=0-1"))
    assert finance.get("/finance/breaks?age=ancient").status_code == 400


def test_the_payable_summary_has_totals_and_an_svg_chart(reconciled: int, finance: FlaskClient) -> None:
    response = finance.get("/finance/summary")
    page = text(response)
    assert "tokopedia" in page and "2020-06-30" in page
    assert "Rp 2.750.000" in page and "Rp 800.000" in page
    assert page.count("<svg") == 2
    assert "<title" in page and "Diklaim dan dibayarkan per platform" in page
    assert "Selisih terbuka per jenis" in page and "pesanan tidak dikenal" in page
    # Nothing is loaded from elsewhere, and no script runs.
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_unknown_runs_and_breaks_are_404_pages(finance: FlaskClient) -> None:
    for path in ("/finance/runs/999999", "/finance/breaks/ffffffffffffffff", "/finance/runs/999999/verdicts.csv"):
        response = finance.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "text/html"
        assert "tidak ada" in text(response)


# -- languages ---------------------------------------------------------------------------------------------


# Labels the templates compose from a domain value: ``t("verdict." ~ row.verdict)``.
DYNAMIC_KEYS = {
    "verdict.": SETTLEMENT_VERDICTS,
    "break.": BREAK_STATES,
    "break.do_": BREAK_STATES,
    "status.": RUN_STATES,
    "age.": AGE_BUCKETS,
    "role.": STAFF_ROLES,
    "lang.": LANGUAGES,
}


def test_both_catalogues_have_every_key_and_the_templates_use_only_known_keys() -> None:
    assert set(MESSAGES["id"]) == set(MESSAGES["en"])
    for language, messages in MESSAGES.items():
        assert all(value.strip() for value in messages.values()), language
    used: set[str] = set()
    sources = [*TEMPLATES.glob("*.html"), *(TEMPLATES.parents[1] / name for name in ("views.py", "forms.py"))]
    for source in sources:
        used |= set(re.findall(r"""\bt\(\s*["']([^"']+)["']""", source.read_text()))
        if source.suffix == ".py":  # keys handed to t() by name, such as a form's labels
            used |= set(re.findall(r"""["']((?:upload|break|error)\.[a-z_]+)["']""", source.read_text()))
    for prefix in used & set(DYNAMIC_KEYS):
        used |= {prefix + value for value in DYNAMIC_KEYS[prefix]}
    used -= set(DYNAMIC_KEYS)
    assert len(used) > 100
    assert used <= set(MESSAGES["en"]), used - set(MESSAGES["en"])
    unused = set(MESSAGES["en"]) - used
    assert not unused, f"labels no page uses: {sorted(unused)}"


def test_pages_render_in_indonesian_and_english(reconciled: int, finance: FlaskClient, clocked: Flask) -> None:
    pages = [
        "/finance/runs", f"/finance/runs/{reconciled}", "/finance/upload", "/finance/breaks", "/finance/summary",
        f"/finance/breaks/{break_id('tokopedia', 'INV/9', 'unknown_order')}",
    ]  # fmt: skip
    assert '<html lang="id">' in text(finance.get("/finance/runs"))  # Indonesian unless asked otherwise
    for path in pages:
        indonesian = text(finance.get(path + "?lang=id"))
        assert '<html lang="id">' in indonesian, path
        english = text(finance.get(path + "?lang=en"))
        assert '<html lang="en">' in english, path
        assert english != indonesian
    # The choice is kept in a cookie, and Accept-Language speaks for a new browser.
    assert "Settlement runs per platform and period" in text(finance.get("/finance/runs"))
    assert "matched" in text(finance.get(f"/finance/runs/{reconciled}"))
    assert "Rekonsiliasi per platform" in text(finance.get("/finance/runs?lang=id"))
    browser = clocked.test_client()
    assert "Log in" in text(browser.get("/finance/login", headers={"Accept-Language": "en-GB,en;q=0.9"}))
    assert "Masuk" in text(browser.get("/finance/login", headers={"Accept-Language": "fr"}))


@pytest.mark.parametrize(
    ("amount", "written"),
    [
        (0, "Rp 0"),
        (999, "Rp 999"),
        (1_000, "Rp 1.000"),
        (1_500_000, "Rp 1.500.000"),
        (123_456_789_012, "Rp 123.456.789.012"),
        (-25_000, "-Rp 25.000"),
    ],
)
def test_amounts_are_written_as_rupiah_with_dots(amount: int, written: str) -> None:
    assert rupiah(amount) == written


def test_only_whole_rupiah_are_amounts() -> None:
    for wrong in (1.5, "1000", True, None):
        with pytest.raises(TypeError):
            rupiah(wrong)  # type: ignore[arg-type]


def test_the_export_of_a_run_is_its_verdicts(reconciled: int, finance: FlaskClient) -> None:
    response = finance.get(f"/finance/runs/{reconciled}/verdicts.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(text(response))))
    with db.sessions() as session:
        expected = list(run_results(session, reconciled))
    assert len(rows) == len(expected) == 5
    for got, want in zip(rows, expected, strict=True):
        assert got == {key: "" if value is None else str(value) for key, value in want.items()}


def test_the_summary_sums_the_runs_of_a_period_but_counts_the_unclaimed_once(
    reconciled: int, finance: FlaskClient
) -> None:
    later = "\n".join(
        ["invoice_number,product_id,prakerja_card_number,voucher_code,paid_at,amount_idr",
         "INV/3,T1,,V3,2020-05-01 12:00:00,400000"]
    ).encode()  # fmt: skip
    second = upload(finance, later, name="susulan-2020-06-30.csv")
    assert second.status_code == 303 and second.headers["Location"] != f"/finance/runs/{reconciled}"
    (row,) = list(csv.DictReader(io.StringIO(text(finance.get("/finance/summary.csv")))))
    assert (row["runs"], row["claims"], row["claimed_idr"], row["payable_idr"]) == ("2", "5", "3150000", "1200000")
    assert (row["not_claimed"], row["not_claimed_idr"]) == ("0", "0")  # INV/3 is claimed now
    assert a_break("INV/3", "not_claimed").status == "resolved"
