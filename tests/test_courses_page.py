"""The participants' /courses page (Flask's test client): both languages,
forms that need no script, labels, headings and colour contrast, the grouped
prices, filters, the comparison of up to four courses, and a signed-in
participant's balance."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hub.courses.formatting import rupiah, typed_amount
from hub.courses.i18n import LANGUAGES, MESSAGES
from hub.db import db
from hub.models import Participant
from hub.oauth.views import SIGNED_IN_AT_KEY, SIGNED_IN_KEY
from hub.search.service import MODES, SORTS
from schemas.course_search import CourseSearchArgsSchema
from tests import samples
from tests.conftest import HubCli
from tests.course_search_support import GROUPED_TITLE, add_courses, course_record, find, load_catalogues

COURSES = Path(__file__).resolve().parents[1] / "hub" / "courses"


class Page(HTMLParser):
    """What the accessibility checks need of a page: its elements with their attributes and text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.labels_for: set[str] = set()
        self.wrapped: set[int] = set()
        self.headings: list[int] = []
        self.text: list[str] = []
        self._open_labels = 0
        self.html = html
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.elements.append((tag, attributes))
        if tag == "label":
            self._open_labels += 1
            if "for" in attributes:
                self.labels_for.add(attributes["for"])
        if tag in ("input", "select", "textarea") and self._open_labels:
            self.wrapped.add(len(self.elements) - 1)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._open_labels -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str, **wanted: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in wanted.items())]

    @property
    def plain(self) -> str:
        return " ".join(" ".join(self.text).split())


def get(client: FlaskClient, query: str = "", status: int = 200) -> Page:
    response = client.get("/courses" + query)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return Page(response.get_data(as_text=True))


@pytest.fixture
def catalogue(app: Flask, hub_cli: HubCli) -> Flask:
    load_catalogues(hub_cli, "tokopedia", "bukalapak")
    return app


@pytest.fixture
def client(catalogue: Flask) -> FlaskClient:
    return catalogue.test_client()


# -- languages ------------------------------------------------------------------------------------


def test_both_catalogues_have_every_key_and_every_key_used_exists() -> None:
    assert set(MESSAGES["id"]) == set(MESSAGES["en"])
    for language, messages in MESSAGES.items():
        for key, value in messages.items():
            assert value.strip(), (language, key)
            assert set(re.findall(r"{(\w+)}", value)) == set(re.findall(r"{(\w+)}", MESSAGES["id"][key])), key
    used: set[str] = set()
    for path in [*COURSES.glob("templates/courses/*.html"), *COURSES.glob("*.py")]:
        source = path.read_text()
        used |= {key for key in re.findall(r"""\bt\(\s*["']([a-z_.\-]+)["']""", source) if not key.endswith(".")}
        for prefix in re.findall(r"""\bt\(\s*["']([a-z_]+\.)["']\s*~""", source):  # t("mode." ~ mode)
            assert any(key.startswith(prefix) for key in MESSAGES["id"]), prefix
    assert used, "the templates use t()"
    assert used <= set(MESSAGES["id"]), used - set(MESSAGES["id"])
    built = [
        *(f"mode.{mode}" for mode in MODES), *(f"sort.{sort}" for sort in SORTS),
        *(f"lang.{language}" for language in LANGUAGES), *(f"error.{name}" for name in CourseSearchArgsSchema().fields),
        *(f"filter.{name}" for name in ("price_min", "price_max", "duration_min", "duration_max")),
    ]  # fmt: skip
    assert set(built) <= set(MESSAGES["id"]), set(built) - set(MESSAGES["id"])


def test_indonesian_by_default_english_by_choice_kept_in_a_cookie(client: FlaskClient) -> None:
    page = get(client)
    assert page.all("html")[0]["lang"] == "id"
    assert MESSAGES["id"]["search.title"] in page.plain
    response = client.get("/courses?lang=en")
    assert "hub-lang=en" in response.headers["Set-Cookie"] and "Path=/courses" in response.headers["Set-Cookie"]
    english = Page(response.get_data(as_text=True))
    assert english.all("html")[0]["lang"] == "en" and MESSAGES["en"]["search.title"] in english.plain
    again = get(client, "?q=akuntansi")  # the cookie keeps English
    assert again.all("html")[0]["lang"] == "en"
    assert get(client, "?lang=id").all("html")[0]["lang"] == "id"
    switch = [a["href"] for a in get(client, "?q=barista&sort=price").all("a", hreflang="en")]
    assert switch == ["/courses?q=barista&sort=price&lang=en"]


# -- no script, accessible -----------------------------------------------------------------------------------


def test_the_page_works_without_script_and_every_control_has_a_label(client: FlaskClient) -> None:
    response = client.get("/courses?q=akuntansi&compare=1&compare=2")
    html = response.get_data(as_text=True)
    assert "<script" not in html
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    page = Page(html)
    assert not [name for _, a in page.elements for name in a if name.startswith("on")], "no event handlers"
    forms = page.all("form")
    assert [f["method"] for f in forms if f["action"] == "/courses"] == ["get"]
    controls = [(i, a) for i, (tag, a) in enumerate(page.elements)
                if tag in ("input", "select", "textarea") and a.get("type") != "hidden"]  # fmt: skip
    assert len(controls) >= 10
    for index, attributes in controls:
        assert attributes.get("id") in page.labels_for or index in page.wrapped, attributes
    ids = [a["id"] for _, a in page.elements if "id" in a]
    assert len(ids) == len(set(ids)), "ids are unique"
    assert page.all("a", **{"class": "skip"})[0]["href"] == "#main" and "main" in ids
    assert page.headings[0] == 1 and page.headings.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:], strict=False)), page.headings


def _colours() -> dict[str, str]:
    css = (COURSES / "static" / "courses.css").read_text()
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


TEXT_PAIRS = [
    ("ink", "paper"), ("ink", "band"), ("muted", "paper"), ("muted", "band"), ("accent", "paper"),
    ("accent", "band"), ("accent-ink", "accent"), ("good", "good-band"), ("bad", "bad-band"), ("ink", "bad-band"),
    ("ink", "note-band"), ("focus", "paper"), ("focus", "band"),
]  # fmt: skip


def test_every_colour_pair_of_the_stylesheet_has_a_contrast_of_at_least_4_5() -> None:
    colours = _colours()
    css = (COURSES / "static" / "courses.css").read_text()
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    for foreground, background in TEXT_PAIRS:
        ratio = contrast(colours[foreground], colours[background])
        assert ratio >= 4.5, (foreground, background, round(ratio, 2))
    used = set(re.findall(r"var\(--([\w-]+)\)", css))
    assert used <= set(colours), used - set(colours)
    assert ":focus-visible" in css and "outline: 3px solid var(--focus)" in css


# -- searching ---------------------------------------------------------------------------------------------------


def test_a_course_on_two_platforms_is_shown_once_with_each_platform_s_price(client: FlaskClient, app: Flask) -> None:
    page = get(client, "?q=akuntansi+maju+jaya")
    assert re.findall(r"<h3 [^>]*>([^<]*)</h3>", page.html) == [GROUPED_TITLE]  # one result
    (group,) = find(app, "akuntansi maju jaya").groups
    shown = re.findall(r"(Tokopedia|Bukalapak) (Rp [\d.]+)", page.plain)
    assert shown == [("Bukalapak" if o.platform == "bukalapak" else "Tokopedia", rupiah(o.price_idr))
                     for o in group.offers]  # fmt: skip
    assert MESSAGES["id"]["results.platforms"].format(count=2) in page.plain


def test_filters_and_amounts_typed_the_indonesian_way(client: FlaskClient, app: Flask) -> None:
    page = get(client, "?q=akuntansi&price_max=Rp+400.000&platform=bukalapak&sort=price")
    prices = [int(p.replace(".", "")) for p in re.findall(r"Rp ([\d.]+)", page.plain)]
    assert prices and max(prices) <= 400_000
    assert "Tokopedia Rp" not in page.plain
    expected = find(app, "akuntansi", price_max=400_000, platforms=("bukalapak",), sort="price")
    assert MESSAGES["id"]["results.count"].format(groups=expected.total_groups, offers=expected.total_courses) in (
        page.plain
    )
    assert page.all("select", id="f-platform") and page.all("option", value="bukalapak", selected="")
    assert typed_amount("500.000,-") == "500000" and typed_amount("1.5") == "1.5"


def test_an_invalid_field_is_named_next_to_the_form(client: FlaskClient) -> None:
    page = get(client, "?price_min=murah&q=akuntansi", status=400)
    assert MESSAGES["id"]["error.price_min"] in page.plain
    assert page.all("input", id="f-price_min", **{"aria-invalid": "true"})
    assert page.all("a", href="#f-price_min")
    crossed = get(client, "?price_min=500000&price_max=100000", status=400)
    assert MESSAGES["id"]["error.price_range"] in crossed.plain


# -- comparing ------------------------------------------------------------------------------------------------


def _course_ids(app: Flask, count: int) -> list[int]:
    return [offer.course_id for group in find(app, sort="price").groups for offer in group.offers][:count]


def test_compare_up_to_four_courses_side_by_side(client: FlaskClient, app: Flask) -> None:
    ids = _course_ids(app, 4)
    query = "?q=akuntansi&" + "&".join(f"compare={i}" for i in ids)
    page = get(client, query)
    table = page.all("table", **{"class": "comparison"})
    assert table and len(page.all("th", scope="col")) == 4
    assert len(page.all("th", scope="row")) >= 8
    assert MESSAGES["id"]["compare.caption"].format(count=4) in page.plain
    # Courses compared but not among this page's results stay chosen when the form is sent again.
    hidden = [a["value"] for a in page.all("input", type="hidden", name="compare")]
    ticked = [a["value"] for a in page.all("input", type="checkbox", name="compare", checked="")]
    assert sorted(map(int, hidden + ticked)) == sorted(ids)
    removed = [a["href"] for a in page.all("a") if a.get("href", "").endswith("#compare") and f"compare={ids[0]}&"
               not in a["href"] + "&"]  # fmt: skip
    assert len(removed) == 1


def test_a_fifth_course_is_refused_with_a_clear_message(client: FlaskClient, app: Flask) -> None:
    ids = _course_ids(app, 5)
    page = get(client, "?" + "&".join(f"compare={i}" for i in ids), status=400)
    assert MESSAGES["id"]["compare.too_many"].format(max=4, extra=5) in page.plain
    assert len(page.all("th", scope="col")) == 4  # the first four stay compared
    english = get(client, "?lang=en&" + "&".join(f"compare={i}" for i in ids), status=400)
    assert MESSAGES["en"]["compare.too_many"].format(max=4, extra=5) in english.plain


def test_one_course_asks_for_another_and_unknown_ones_are_dropped(client: FlaskClient, app: Flask) -> None:
    (first,) = _course_ids(app, 1)
    page = get(client, f"?compare={first}&compare=999999&compare=abc")
    assert MESSAGES["id"]["compare.one"] in page.plain
    assert MESSAGES["id"]["compare.gone"] in page.plain and MESSAGES["id"]["compare.invalid"] in page.plain
    assert len(page.all("th", scope="col")) == 1


# -- a signed-in participant -------------------------------------------------------------------------------------


def _sign_in(client: FlaskClient, app: Flask, hub_cli: HubCli) -> Participant:
    hub_cli("participants", "import", samples.PLATFORMS_DIR / "participants.csv")
    with app.app_context(), db.sessions() as session:
        participant = session.scalars(select(Participant).where(Participant.status == "active").limit(1)).one()
    with client.session_transaction() as signed:  # what hub.oauth's sign-in with card and code leaves
        signed[SIGNED_IN_KEY] = participant.id
        signed[SIGNED_IN_AT_KEY] = int(dt.datetime.now(dt.UTC).timestamp())
    return participant


def test_a_signed_in_participant_sees_their_balance_and_what_it_covers(
    client: FlaskClient, app: Flask, hub_cli: HubCli
) -> None:
    anonymous = get(client, "?q=akuntansi")
    assert anonymous.all("a", href="/oauth/signin?next=/courses?q%3Dakuntansi") and "Saldo" not in anonymous.plain
    participant = _sign_in(client, app, hub_cli)
    add_courses(app, "tokopedia", course_record("tokopedia", "OWN-DEAR", "Akuntansi Pajak Lanjutan",
                                                price_idr=1_500_000))  # fmt: skip
    response = client.get("/courses?q=akuntansi&sort=-price")
    assert response.headers["Cache-Control"] == "no-store"
    page = Page(response.get_data(as_text=True))
    assert "Saldo pelatihan Anda: Rp 1.000.000" in page.plain
    assert participant.card_number[-4:] in page.plain and participant.card_number not in page.plain
    assert "Rp 1.500.000 ✗ Melebihi saldo Anda" in page.plain  # the dearest course, first
    covered = page.plain.count("✓ Tercakup saldo Anda")
    assert covered == find(app, "akuntansi").total_courses - 1 > 0
    expired = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    with client.session_transaction() as signed:
        signed[SIGNED_IN_AT_KEY] = int(expired.timestamp())
    assert "Saldo pelatihan Anda" not in get(client, "?q=akuntansi").plain


def test_signing_in_and_out_from_the_courses_page_comes_back_to_it(
    client: FlaskClient, app: Flask, hub_cli: HubCli
) -> None:
    """The sign-in link carries the page (with its search) and the hub returns there,
    with the code e-mailed to the participant; signing out returns there too."""
    import json
    from urllib.parse import urlsplit

    from tests.oauth_support import csrf

    hub_cli("participants", "import", samples.PLATFORMS_DIR / "participants.csv")
    with app.app_context(), db.sessions() as session:
        participant = session.scalars(select(Participant).where(Participant.status == "active").limit(1)).one()
        card, email = participant.card_number, participant.email
    page = get(client, "?q=akuntansi&sort=-price")
    (link,) = [a["href"] for a in page.all("a") if a.get("href", "").startswith("/oauth/signin")]
    form = client.get(link)
    sent = client.post(link, data={"csrf_token": csrf(form.get_data(as_text=True)), "card_number": card})
    assert sent.status_code == 303
    code_page = client.get(sent.headers["Location"])
    outbox = hub_cli("outbox", "--to", email, "--json").stdout.splitlines()
    code = re.search(r"\b(\d{6})\b", json.loads(outbox[-1])["body"])
    assert code is not None
    entered = {"csrf_token": csrf(code_page.get_data(as_text=True)), "code": code.group(1)}
    signed_in = client.post(sent.headers["Location"], data=entered)
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/courses?q=akuntansi&sort=-price"
    back = Page(client.get(signed_in.headers["Location"]).get_data(as_text=True))
    assert "Saldo pelatihan Anda" in back.plain
    (next_field,) = back.all("input", name="next")
    out = client.post("/oauth/signout", data={"csrf_token": csrf(back.html), "next": next_field["value"]})
    assert out.status_code == 303 and out.headers["Location"] == "/courses?q=akuntansi&sort=-price"
    # Anywhere else is refused as a destination: the hub's own pages only.
    client.post(link, data={"csrf_token": csrf(form.get_data(as_text=True)), "card_number": card})
    elsewhere = client.post("/oauth/signout", data={"csrf_token": csrf(back.html), "next": "https://evil.example/"})
    assert urlsplit(elsewhere.headers["Location"]).path == "/oauth/signin"
