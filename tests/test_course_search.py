"""The course search (hub.search): Indonesian word forms, typos, filters,
sorting, pages and the grouping of the same course across platforms, over the
platforms' sample catalogues loaded through the hub and over courses of our
own where the samples lack a case. The same assertions hold on SQLite and on
PostgreSQL (the two test passes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from hub import migrate
from hub.db import db, make_engine
from hub.models import Course, Platform
from hub.models.course import CourseSearchTerm
from hub.search import statements
from hub.search.index import group_key, search_columns
from hub.search.indonesian import candidates, normalised, words
from hub.search.service import QueryWord, SearchError, SearchQuery
from hub.search.trigram import similarity
from tests.conftest import ON_POSTGRES, HubCli
from tests.course_search_support import (
    GROUPED_INSTITUTION,
    GROUPED_TITLE,
    add_courses,
    course_record,
    find,
    load_catalogues,
    titles,
)

# -- Indonesian words ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "root"),
    [
        ("pemasaran", "pasar"), ("memasarkan", "pasar"), ("dipasarkan", "pasar"),
        ("pelatihan", "latih"), ("melatih", "latih"), ("latihan", "latih"),
        ("penjualan", "jual"), ("menjual", "jual"), ("dijual", "jual"),
        ("keuangan", "uang"), ("perawatan", "rawat"), ("merawat", "rawat"),
        ("menulis", "tulis"), ("mengirim", "kirim"), ("menyapu", "sapu"), ("membuat", "buat"),
        ("belajar", "ajar"), ("pelajaran", "ajar"), ("mempelajari", "ajar"),
        ("pemrograman", "program"), ("memperbaiki", "baik"), ("perbaikan", "baik"),
        ("pemberdayaan", "daya"), ("keterampilan", "terampil"), ("pekerja", "kerja"), ("bekerja", "kerja"),
        ("pertanian", "tani"), ("petani", "tani"), ("pengelolaan", "kelola"), ("mengelola", "kelola"),
        ("bukunya", "buku"), ("bacalah", "baca"), ("rumahan", "rumah"),
    ],
)  # fmt: skip
def test_word_forms_share_their_root(word: str, root: str) -> None:
    assert root in candidates(word)
    assert word in candidates(word)


def test_words_are_left_alone_where_no_rule_applies() -> None:
    assert candidates("pasar") == ("pasar",)
    assert candidates("barista") == ("barista",)
    assert "las" not in candidates("kelas")  # derived stems shorter than four letters are dropped
    assert candidates("web") == ("web",)
    assert candidates("3d") == ("3d",)
    assert candidates("covid19") == ("covid19",)


def test_words_are_lower_case_without_accents_apostrophes_or_punctuation() -> None:
    assert words("Pelatihan Da'i Muda — Café, UMKM-2020!") == ["pelatihan", "dai", "muda", "cafe", "umkm", "2020"]
    assert normalised("  Menjahit   Busana-Dasar ") == "menjahit busana dasar"


def test_search_columns_hold_whole_terms_of_title_and_of_institution_and_category() -> None:
    columns = search_columns("Pemasaran Digital", "LPK Maju Jaya", "Pemasaran")
    assert columns.search_title.startswith(" ") and columns.search_title.endswith(" ")
    assert {"pemasaran", "pasar", "digital"} <= set(columns.search_title.split())
    assert {"lpk", "maju", "jaya", "pemasaran"} <= set(columns.search_context.split())
    assert columns.group_key == group_key("PEMASARAN  digital", "lpk maju jaya")
    assert columns.group_key != group_key("Pemasaran Digital", "LPK Maju")


# -- typos -------------------------------------------------------------------------------------------


def test_trigram_similarity_is_pg_trgm_s() -> None:
    assert similarity("pemasaran", "pemasaran") == 1.0
    assert similarity("abc", "xyz") == 0.0
    # "  pemasran " (9 trigrams) and "  pemasaran " (10) share 7: "  p", " pe", "pem", "ema", "mas", "ran", "an ".
    assert similarity("pemasran", "pemasaran") == pytest.approx(7 / 12)
    assert similarity("", "pemasaran") == 0.0


@pytest.mark.postgres
def test_trigram_similarity_equals_postgresql_s(app: Flask) -> None:
    pairs = [("pemasran", "pemasaran"), ("akuntasi", "akuntansi"), ("lele", "lela"), ("a", "ab"),
             ("barista", "baristaa"), ("pemrograman", "program"), ("x1", "x12")]  # fmt: skip
    with app.app_context():
        for first, second in pairs:
            theirs = db.session.scalar(text("SELECT similarity(:a, :b)"), {"a": first, "b": second})
            assert similarity(first, second) == pytest.approx(theirs, abs=1e-6), (first, second)


@pytest.mark.parametrize("postgres", [True, False], ids=["postgresql", "sqlite"])
def test_a_search_statement_gets_every_value_it_names(postgres: bool) -> None:
    """Statements are built once per shape of query with named parameters: the values of a search
    are exactly the parameters its statement names, whatever filters and words it has."""
    full = SearchQuery(text="pemasran digital", categories=("Pemasaran",), modes=("offline",),
                       platforms=("tokopedia", "bukalapak"), price_min=1, price_max=2, duration_min=3,
                       duration_max=4, sort="-price", page=2)  # fmt: skip
    query_words = [QueryWord("pemasran", ("pasar", "pemasaran"), ("pemasaran",)), QueryWord("digital", ("digital",))]
    dialect = (postgresql if postgres else sqlite).dialect()
    for query, given in ((full, query_words), (SearchQuery(), []), (SearchQuery(price_max=5, sort="rating"), [])):
        shape = statements.shape_of(query, given, postgres)
        values = statements.parameters(query, given, postgres)
        for statement in (statements.page_statement(shape), statements.totals_statement(shape)):
            compiled = statement.compile(dialect=dialect)
            named = {name for name, bind in compiled.binds.items() if bind.value is None and bind.callable is None}
            assert named <= set(values), named - set(values)
        named = {name for name, bind in statements.page_statement(shape).compile(dialect=dialect).binds.items()
                 if bind.value is None and bind.callable is None}  # fmt: skip
        assert named == set(values)


# -- searching the sample catalogues ------------------------------------------------------------------------


@pytest.fixture
def catalogue(app: Flask, hub_cli: HubCli) -> Flask:
    """Four platforms' sample catalogues (a course of tokopedia's is on bukalapak too)."""
    load_catalogues(hub_cli, "tokopedia", "bukalapak", "sisnaker", "pintaria")
    return app


def _active_count(app: Flask, *conditions: object) -> int:
    with app.app_context(), db.sessions() as session:
        statement = select(func.count()).select_from(Course).join(Platform).where(Course.active, *conditions)
        return int(session.scalar(statement) or 0)


def test_the_same_course_on_two_platforms_is_one_result_with_each_price(catalogue: Flask) -> None:
    result = find(catalogue, "akuntansi maju jaya")
    assert titles(result) == [GROUPED_TITLE]
    group = result.groups[0]
    with catalogue.app_context(), db.sessions() as session:
        stored = sorted(
            (int(price), platform)
            for price, platform in session.execute(
                select(Course.price_idr, Platform.name)
                .join(Platform)
                .where(Course.title == GROUPED_TITLE, Course.institution == GROUPED_INSTITUTION, Course.active)
            ).all()
        )
    assert {platform for _, platform in stored} == {"tokopedia", "bukalapak"}
    assert [(offer.price_idr, offer.platform) for offer in group.offers] == stored  # cheapest first
    assert group.lowest_price_idr == stored[0][0] and group.highest_price_idr == stored[-1][0]


def test_every_active_course_is_listed_once_in_groups_of_one_title_and_institution(catalogue: Flask) -> None:
    seen: dict[str, tuple[str, str]] = {}
    offers = 0
    page = 1
    while True:
        result = find(catalogue, per_page=50, page=page)
        for group in result.groups:
            names = {(normalised(o.title), normalised(o.institution)) for o in group.offers}
            assert len(names) == 1, names
            assert group.key not in seen
            seen[group.key] = names.pop()
            offers += len(group.offers)
        if page >= result.pages:
            break
        page += 1
    assert offers == result.total_courses == _active_count(catalogue)
    assert len(seen) == result.total_groups
    assert len(set(seen.values())) == len(seen)  # one group per title and institution
    with catalogue.app_context(), db.sessions() as session:
        inactive = session.scalars(select(Course.id).where(Course.active.is_(False))).all()
    assert inactive, "the samples have courses no longer on sale"


def test_filters_keep_only_matching_courses(catalogue: Flask) -> None:
    checks = [
        ({"categories": ("Keuangan",)}, [Course.category == "Keuangan"]),
        ({"modes": ("offline",)}, [Course.mode == "offline"]),
        ({"platforms": ("sisnaker", "pintaria")}, [Platform.name.in_(["sisnaker", "pintaria"])]),
        ({"price_min": 300_000, "price_max": 500_000}, [Course.price_idr.between(300_000, 500_000)]),
        ({"duration_min": 60, "duration_max": 240}, [Course.duration_minutes.between(60, 240)]),
        ({"categories": ("Tata Boga",), "price_max": 400_000},
         [Course.category == "Tata Boga", Course.price_idr <= 400_000]),
    ]  # fmt: skip
    for filters, conditions in checks:
        result = find(catalogue, per_page=50, **filters)
        assert result.total_courses == _active_count(catalogue, *conditions) > 0, filters
        for group in result.groups:
            for offer in group.offers:
                if "price_max" in filters:
                    assert offer.price_idr <= filters["price_max"]
                if "modes" in filters:
                    assert offer.mode in filters["modes"]
                if "platforms" in filters:
                    assert offer.platform in filters["platforms"]


def test_a_filter_shows_only_the_matching_offers_of_a_group(catalogue: Flask) -> None:
    result = find(catalogue, "akuntansi maju jaya", platforms=("bukalapak",))
    assert [[offer.platform for offer in group.offers] for group in result.groups] == [["bukalapak"]]


def test_sorting_by_price_rating_and_duration(catalogue: Flask) -> None:
    lowest = [group.lowest_price_idr for group in find(catalogue, sort="price", per_page=50).groups]
    assert lowest == sorted(lowest) and len(lowest) == 50
    highest = [group.lowest_price_idr for group in find(catalogue, sort="-price", per_page=50).groups]
    assert highest == sorted(highest, reverse=True) and highest[0] > lowest[0]
    ratings = [max((o.rating or 0) for o in group.offers) for group in find(catalogue, sort="rating").groups]
    assert ratings == sorted(ratings, reverse=True)
    short = [min(o.duration_minutes for o in group.offers) for group in find(catalogue, sort="duration").groups]
    assert short == sorted(short)
    long = [min(o.duration_minutes for o in group.offers) for group in find(catalogue, sort="-duration").groups]
    assert long == sorted(long, reverse=True) and long[0] > short[0]


def test_pages_do_not_overlap_and_stop_at_the_cap(catalogue: Flask) -> None:
    first, second = find(catalogue, sort="price", per_page=10), find(catalogue, sort="price", per_page=10, page=2)
    assert first.pages == second.pages == -(-first.total_groups // 10)
    assert not {g.key for g in first.groups} & {g.key for g in second.groups}
    assert first.groups[-1].lowest_price_idr <= second.groups[0].lowest_price_idr
    beyond = find(catalogue, per_page=50, page=first.total_groups // 50 + 2)
    assert beyond.groups == () and beyond.total_groups == first.total_groups
    with pytest.raises(SearchError) as refused:
        find(catalogue, page=51)
    assert refused.value.field == "page"
    with pytest.raises(SearchError) as crossed:
        find(catalogue, price_min=500_000, price_max=100_000)
    assert crossed.value.field == "price_min"


def test_a_typo_in_the_samples_is_corrected(catalogue: Flask) -> None:
    exact = find(catalogue, "akuntansi")
    typo = find(catalogue, "akuntasi")
    assert typo.corrections and "akuntansi" in typo.corrections["akuntasi"]
    assert titles(typo) == titles(exact) and exact.total_groups > 0


# -- courses of our own --------------------------------------------------------------------------------------


@pytest.fixture
def marketing(catalogue: Flask) -> Flask:
    """The samples plus "Pemasaran Digital" (the samples' marketing courses say so only in their category)."""
    add_courses(catalogue, "tokopedia", course_record("tokopedia", "OWN-1", "Pemasaran Digital", rating=3.0))
    return catalogue


@pytest.mark.parametrize("query", ["pemasaran", "Pemasaran Digital", "memasarkan", "dipasarkan", "pasar",
                                   "pemasran", "PEMASARAN!", "kursus pemasaran"])  # fmt: skip
def test_indonesian_word_forms_and_typos_find_pemasaran_digital(marketing: Flask, query: str) -> None:
    result = find(marketing, query)
    assert titles(result)[0] == "Pemasaran Digital"  # a title match comes before category matches


def test_category_and_institution_are_searched_too(marketing: Flask) -> None:
    found = find(marketing, "pemasaran", per_page=50)
    # the category's courses, "Pemasaran Digital", and the courses of "Akademi Pemasaran Digital" elsewhere:
    institution = _active_count(marketing, Course.institution == "Akademi Pemasaran Digital",
                                Course.category != "Pemasaran")  # fmt: skip
    assert institution > 0
    assert found.total_courses == _active_count(marketing, Course.category == "Pemasaran") + 1 + institution


def test_words_found_nowhere_are_ignored_and_said(marketing: Flask) -> None:
    result = find(marketing, "pemasaran xqzvw")
    assert result.ignored == ("xqzvw",)
    assert titles(result)[0] == "Pemasaran Digital"
    nothing = find(marketing, "xqzvw")
    assert nothing.groups == () and nothing.total_groups == 0 and nothing.ignored == ("xqzvw",)


def test_every_word_must_match(marketing: Flask) -> None:
    both = find(marketing, "pemasaran lele", per_page=50)
    assert both.total_groups > 0 and "Pemasaran Digital" not in titles(both)
    for group in both.groups:
        found = set(words(f"{group.first.title} {group.first.institution} {group.first.category}"))
        assert {"pemasaran", "lele"} <= found, group.first
    assert titles(find(marketing, "digital pemasaran"))[0] == "Pemasaran Digital"


def test_a_renamed_course_is_found_by_its_new_title_only(marketing: Flask) -> None:
    renamed = course_record("tokopedia", "OWN-1", "Budidaya Jamur Tiram", updated_at="2020-05-01T00:00:00+07:00")
    add_courses(marketing, "tokopedia", renamed)
    assert "Pemasaran Digital" not in titles(find(marketing, "pemasaran", per_page=50))
    assert titles(find(marketing, "jamur tiram")) == ["Budidaya Jamur Tiram"]
    with marketing.app_context(), db.sessions() as session:
        assert session.get(CourseSearchTerm, "jamur") is not None


def test_the_same_title_of_another_institution_is_another_group(marketing: Flask) -> None:
    add_courses(marketing, "bukalapak",
                course_record("bukalapak", "OWN-2", "pemasaran  digital", price_idr=450_000),
                course_record("bukalapak", "OWN-3", "Pemasaran Digital", institution="BLK Bekasi"))  # fmt: skip
    result = find(marketing, "pemasaran digital")  # both words in the title come first
    assert [[(o.platform, o.price_idr) for o in g.offers] for g in result.groups[:2]] == [
        [("bukalapak", 450_000), ("tokopedia", 500_000)],
        [("bukalapak", 500_000)],
    ]


def test_an_inactive_course_is_not_listed(marketing: Flask) -> None:
    stopped = course_record("tokopedia", "OWN-1", "Pemasaran Digital", active=False,
                            updated_at="2020-05-01T00:00:00+07:00")  # fmt: skip
    add_courses(marketing, "tokopedia", stopped)
    assert "Pemasaran Digital" not in titles(find(marketing, "pemasaran digital"))


# -- the migration --------------------------------------------------------------------------------------------


@pytest.mark.skipif(ON_POSTGRES, reason="migrates a SQLite file of its own; runs in the SQLite pass")
def test_migration_0008_indexes_the_courses_already_there(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0007")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO platforms (id, name, settings, created_at, updated_at) "
                          "VALUES (1, 'tokopedia', '{}', '2020-01-01', '2020-01-01')"))  # fmt: skip
        conn.execute(
            text("INSERT INTO courses (platform_id, external_id, title, institution, category, price_idr, "
                 "duration_minutes, mode, rating, rating_count, active, url, updated_at, raw, first_seen_at, "
                 "last_seen_at) VALUES (1, 'X1', 'Pelatihan Pemasaran', 'LPK Maju', 'Pemasaran', 100000, 60, "
                 "'self_paced', NULL, 0, 1, NULL, '2020-01-01', '{}', '2020-01-01', '2020-01-01')")
        )  # fmt: skip
    migrate.upgrade(engine)
    with engine.connect() as conn:
        title, key = conn.execute(text("SELECT search_title, group_key FROM courses")).one()
        terms = set(conn.scalars(text("SELECT term FROM course_search_terms")))
    assert "pasar" in title.split() and key == group_key("Pelatihan Pemasaran", "LPK Maju")
    assert {"pasar", "pemasaran", "maju"} <= terms
    migrate.downgrade(engine, "0007")
    migrate.upgrade(engine)
    engine.dispose()
