"""How the /courses page writes amounts, durations and ratings, and reads the
amounts participants type."""

from __future__ import annotations

import re

from .i18n import current_language, t

PLATFORM_NAMES = {
    "tokopedia": "Tokopedia",
    "ruangguru": "Skill Academy by Ruangguru",
    "bukalapak": "Bukalapak",
    "sisnaker": "Sisnaker",
    "pintaria": "Pintaria",
    "sekolahmu": "Sekolahmu",
    "pijarmahir": "Pijar Mahir",
    "maubelajarapa": "MauBelajarApa",
}
_TYPED_AMOUNT = re.compile(r"^(?:rp\.?)?\s*(\d{1,3}(?:\.\d{3})+|\d+)(?:,-|,00)?$", re.IGNORECASE)


def rupiah(amount: int) -> str:
    """Whole rupiah with Indonesian thousands dots, in either language: ``Rp 1.500.000``."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"an amount is whole rupiah (int), not {type(amount).__name__}")
    digits = f"{abs(amount):,}".replace(",", ".")
    return f"-Rp {digits}" if amount < 0 else f"Rp {digits}"


def typed_amount(value: str) -> str:
    """What a participant typed in a price field, as digits when it is a whole
    amount written the Indonesian way ("Rp 500.000", "500.000,-", "500000");
    anything else is returned as typed, for the schema to refuse."""
    stripped = value.strip().replace(" ", "")
    match = _TYPED_AMOUNT.match(stripped)
    return match.group(1).replace(".", "") if match else value.strip()


def duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return t("duration.hours_minutes", hours=hours, minutes=rest)
    if hours:
        return t("duration.hours", hours=hours)
    return t("duration.minutes", minutes=rest)


def decimal(value: float) -> str:
    """One decimal, with a comma in Indonesian: ``4,5``."""
    text = f"{value:.1f}"
    return text.replace(".", ",") if current_language() == "id" else text


def number(value: int) -> str:
    return f"{value:,}".replace(",", "." if current_language() == "id" else ",")


def rating(value: float | None, count: int) -> str:
    if value is None:
        return t("rating.none")
    return t("rating.value", rating=decimal(value), count=number(count))


def platform_name(name: str) -> str:
    """A platform as participants know it ("Skill Academy by Ruangguru" for ruangguru)."""
    return PLATFORM_NAMES.get(name, name)
