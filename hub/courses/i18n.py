"""The labels of the participants' /courses page in Indonesian (the default)
and English.

Every visible label goes through :func:`t` with a key of :data:`MESSAGES`;
both languages have every key (a test checks it, and that every key the
templates and views use exists). The language is ``?lang=`` (then kept in the
``hub-lang`` cookie, the one the finance workspace also reads), else that
cookie, else Indonesian: participants get Indonesian unless they choose English.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
COOKIE = "hub-lang"

_ID: dict[str, str] = {
    "app.title": "Bandingkan pelatihan Prakerja",
    "app.skip": "Langsung ke isi",
    "app.language": "Bahasa",
    "lang.id": "Bahasa Indonesia",
    "lang.en": "English",
    "account.balance": "Saldo pelatihan Anda: {amount}",
    "account.card": "Kartu berakhiran {last4}",
    "account.sign_in": "Masuk untuk melihat saldo Anda",
    "account.sign_out": "Keluar",
    "search.title": "Cari dan bandingkan pelatihan",
    "search.intro": "Cari di katalog delapan platform digital Prakerja. Pelatihan yang sama dari satu lembaga "
    "di beberapa platform ditampilkan bersama dengan harganya di tiap platform.",
    "search.query": "Kata pencarian",
    "search.query_hint": "Judul, lembaga, atau kategori; bentuk kata dan salah ketik ditoleransi.",
    "search.submit": "Cari",
    "filter.title": "Saring dan urutkan",
    "filter.category": "Kategori",
    "filter.mode": "Cara belajar",
    "filter.platform": "Platform",
    "filter.any": "Semua",
    "filter.price": "Harga (Rp)",
    "filter.price_min": "Harga terendah (Rp)",
    "filter.price_max": "Harga tertinggi (Rp)",
    "filter.duration": "Durasi (menit)",
    "filter.duration_min": "Durasi terpendek (menit)",
    "filter.duration_max": "Durasi terpanjang (menit)",
    "filter.sort": "Urutkan",
    "filter.apply": "Terapkan",
    "filter.reset": "Hapus semua saringan",
    "sort.relevance": "Paling sesuai",
    "sort.price": "Harga termurah",
    "sort.-price": "Harga termahal",
    "sort.rating": "Rating tertinggi",
    "sort.duration": "Durasi terpendek",
    "sort.-duration": "Durasi terpanjang",
    "mode.self_paced": "Mandiri (video, kapan saja)",
    "mode.live_online": "Daring langsung (webinar)",
    "mode.offline": "Luring (tatap muka)",
    "error.title": "Periksa isian berikut:",
    "error.q": "Kata pencarian paling panjang 200 karakter.",
    "error.category": "Kategori tidak dikenal.",
    "error.mode": "Pilih cara belajar dari daftar.",
    "error.platform": "Platform tidak dikenal.",
    "error.price_min": "Harga terendah harus bilangan bulat rupiah, misalnya 500000 atau 500.000.",
    "error.price_max": "Harga tertinggi harus bilangan bulat rupiah, misalnya 1000000 atau 1.000.000.",
    "error.price_range": "Harga terendah lebih besar daripada harga tertinggi.",
    "error.duration_min": "Durasi terpendek harus bilangan bulat menit.",
    "error.duration_max": "Durasi terpanjang harus bilangan bulat menit.",
    "error.duration_range": "Durasi terpendek lebih besar daripada durasi terpanjang.",
    "error.sort": "Pilih urutan dari daftar.",
    "error.page": "Halaman itu tidak ada. Persempit pencarian untuk melihat hasil lain.",
    "error.per_page": "Jumlah per halaman tidak valid.",
    "error.other": "Isian tidak valid: {name}.",
    "results.title": "Hasil",
    "results.count": "{groups} pelatihan ditemukan ({offers} penawaran di platform)",
    "results.none": "Tidak ada pelatihan yang cocok. Coba kata lain atau hapus saringan.",
    "results.corrected": "Menampilkan hasil untuk “{corrected}” (Anda mengetik “{word}”).",
    "results.ignored": "Kata berikut tidak ada di katalog dan diabaikan: {words}.",
    "results.platforms": "Dijual di {count} platform",
    "results.one_platform": "Dijual di 1 platform",
    "results.from": "mulai {amount}",
    "results.offers_caption": "Harga “{title}” di tiap platform",
    "results.compare_submit": "Bandingkan yang dipilih",
    "results.compare_hint": "Centang hingga {max} pelatihan, lalu tekan “Bandingkan yang dipilih”.",
    "results.view": "Lihat di {platform}",
    "col.platform": "Platform",
    "col.price": "Harga",
    "col.duration": "Durasi",
    "col.rating": "Rating",
    "col.mode": "Cara belajar",
    "col.compare": "Bandingkan",
    "compare.title": "Perbandingan",
    "compare.caption": "Perbandingan {count} pelatihan",
    "compare.one": "Pilih satu pelatihan lagi untuk dibandingkan.",
    "compare.too_many": "Paling banyak {max} pelatihan dapat dibandingkan. Pilihan ke-{extra} tidak ditambahkan; "
    "hapus salah satu terlebih dahulu.",
    "compare.invalid": "Pilihan perbandingan tidak valid diabaikan.",
    "compare.gone": "Sebagian pelatihan yang dipilih tidak dijual lagi dan dihapus dari perbandingan.",
    "compare.label": "Bandingkan “{title}” di {platform}",
    "compare.course": "Pelatihan",
    "compare.institution": "Lembaga",
    "compare.category": "Kategori",
    "compare.sold_on": "Dijual di",
    "compare.covered": "Saldo Anda",
    "compare.link": "Tautan",
    "compare.remove": "Hapus dari perbandingan",
    "compare.clear": "Hapus semua perbandingan",
    "balance.covered": "Tercakup saldo Anda",
    "balance.not_covered": "Melebihi saldo Anda",
    "rating.value": "{rating} dari 5 ({count} ulasan)",
    "rating.none": "Belum ada rating",
    "duration.hours_minutes": "{hours} jam {minutes} menit",
    "duration.hours": "{hours} jam",
    "duration.minutes": "{minutes} menit",
    "pager.label": "Halaman hasil",
    "pager.previous": "Sebelumnya",
    "pager.next": "Berikutnya",
    "pager.page": "Halaman {page} dari {pages}",
}

_EN: dict[str, str] = {
    "app.title": "Compare Prakerja courses",
    "app.skip": "Skip to content",
    "app.language": "Language",
    "lang.id": "Bahasa Indonesia",
    "lang.en": "English",
    "account.balance": "Your training balance: {amount}",
    "account.card": "Card ending in {last4}",
    "account.sign_in": "Sign in to see your balance",
    "account.sign_out": "Sign out",
    "search.title": "Find and compare courses",
    "search.intro": "Search the catalogues of Prakerja's eight digital platforms. The same course of one "
    "institution on several platforms is shown together, with its price on each.",
    "search.query": "Search words",
    "search.query_hint": "Title, institution or category; word forms and typos are tolerated.",
    "search.submit": "Search",
    "filter.title": "Filter and sort",
    "filter.category": "Category",
    "filter.mode": "How it is taught",
    "filter.platform": "Platform",
    "filter.any": "Any",
    "filter.price": "Price (Rp)",
    "filter.price_min": "Lowest price (Rp)",
    "filter.price_max": "Highest price (Rp)",
    "filter.duration": "Duration (minutes)",
    "filter.duration_min": "Shortest duration (minutes)",
    "filter.duration_max": "Longest duration (minutes)",
    "filter.sort": "Sort by",
    "filter.apply": "Apply",
    "filter.reset": "Clear all filters",
    "sort.relevance": "Best match",
    "sort.price": "Lowest price",
    "sort.-price": "Highest price",
    "sort.rating": "Best rating",
    "sort.duration": "Shortest",
    "sort.-duration": "Longest",
    "mode.self_paced": "Self-paced (video, any time)",
    "mode.live_online": "Live online (webinar)",
    "mode.offline": "In person",
    "error.title": "Please check the following:",
    "error.q": "Search words are at most 200 characters.",
    "error.category": "Unknown category.",
    "error.mode": "Choose how it is taught from the list.",
    "error.platform": "Unknown platform.",
    "error.price_min": "The lowest price must be whole rupiah, e.g. 500000 or 500.000.",
    "error.price_max": "The highest price must be whole rupiah, e.g. 1000000 or 1.000.000.",
    "error.price_range": "The lowest price is more than the highest price.",
    "error.duration_min": "The shortest duration must be whole minutes.",
    "error.duration_max": "The longest duration must be whole minutes.",
    "error.duration_range": "The shortest duration is more than the longest duration.",
    "error.sort": "Choose an order from the list.",
    "error.page": "There is no such page. Narrow the search to see other results.",
    "error.per_page": "Invalid number per page.",
    "error.other": "Invalid value: {name}.",
    "results.title": "Results",
    "results.count": "{groups} courses found ({offers} platform offers)",
    "results.none": "No course matches. Try other words or clear the filters.",
    "results.corrected": "Showing results for “{corrected}” (you typed “{word}”).",
    "results.ignored": "These words are not in the catalogue and were left out: {words}.",
    "results.platforms": "Sold on {count} platforms",
    "results.one_platform": "Sold on 1 platform",
    "results.from": "from {amount}",
    "results.offers_caption": "Prices of “{title}” on each platform",
    "results.compare_submit": "Compare selected",
    "results.compare_hint": "Tick up to {max} courses, then press “Compare selected”.",
    "results.view": "View on {platform}",
    "col.platform": "Platform",
    "col.price": "Price",
    "col.duration": "Duration",
    "col.rating": "Rating",
    "col.mode": "How it is taught",
    "col.compare": "Compare",
    "compare.title": "Comparison",
    "compare.caption": "Comparison of {count} courses",
    "compare.one": "Choose one more course to compare.",
    "compare.too_many": "At most {max} courses can be compared. Choice number {extra} was not added; remove one first.",
    "compare.invalid": "Invalid comparison choices were ignored.",
    "compare.gone": "Some chosen courses are no longer on sale and were removed from the comparison.",
    "compare.label": "Compare “{title}” on {platform}",
    "compare.course": "Course",
    "compare.institution": "Institution",
    "compare.category": "Category",
    "compare.sold_on": "Sold on",
    "compare.covered": "Your balance",
    "compare.link": "Link",
    "compare.remove": "Remove from comparison",
    "compare.clear": "Clear the comparison",
    "balance.covered": "Covered by your balance",
    "balance.not_covered": "More than your balance",
    "rating.value": "{rating} of 5 ({count} reviews)",
    "rating.none": "No rating yet",
    "duration.hours_minutes": "{hours} h {minutes} min",
    "duration.hours": "{hours} h",
    "duration.minutes": "{minutes} min",
    "pager.label": "Result pages",
    "pager.previous": "Previous",
    "pager.next": "Next",
    "pager.page": "Page {page} of {pages}",
}

MESSAGES: dict[str, dict[str, str]] = {"id": _ID, "en": _EN}


def choose_language(query: str | None, cookie: str | None) -> str:
    """``?lang=``, else the cookie, else Indonesian."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return str(candidate)
    return DEFAULT_LANGUAGE


def current_language() -> str:
    if not has_request_context():
        return DEFAULT_LANGUAGE
    if "courses_lang" not in g:
        g.courses_lang = choose_language(request.args.get("lang"), request.cookies.get(COOKIE))
    language: str = g.courses_lang
    return language


def t(key: str, /, **values: Any) -> str:
    """The label ``key`` in the request's language, with ``{name}`` fields filled in."""
    text = MESSAGES[current_language()].get(key) or MESSAGES[DEFAULT_LANGUAGE].get(key) or key
    return text.format(**values) if values else text
