"""How the workspace writes amounts and times: ``Rp 1.500.000`` and WIB."""

from __future__ import annotations

import datetime as dt

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")


def rupiah(amount: int) -> str:
    """Whole rupiah with Indonesian thousands dots: ``Rp 1.500.000``, ``-Rp 25.000``."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"an amount is whole rupiah (int), not {type(amount).__name__}")
    digits = f"{abs(amount):,}".replace(",", ".")
    return f"-Rp {digits}" if amount < 0 else f"Rp {digits}"


def number(value: int) -> str:
    """A count with Indonesian thousands dots: ``12.345``."""
    return f"{value:,}".replace(",", ".")


def wib(moment: dt.datetime | None) -> str:
    """An instant as finance in Jakarta reads it: ``2020-07-02 10:00 WIB``."""
    if moment is None:
        return "—"
    return moment.astimezone(WIB).strftime("%Y-%m-%d %H:%M WIB")
