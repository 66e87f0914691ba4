"""Charts drawn on the server as SVG, inline in the page: no script, no asset
from elsewhere. Each chart is an ``img`` for assistive technology, named by
its ``<title>`` and described by its ``<desc>``; every bar carries its value
as text beside it (and as a tooltip), so nothing is told by colour alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 760
LABEL_WIDTH = 170
VALUE_WIDTH = 150
BAR_HEIGHT = 16
BAR_GAP = 3
GROUP_GAP = 14
LEGEND_HEIGHT = 28
PALETTE = ("#4a5d73", "#1b7f5b", "#b04a2f", "#8a6d1f")
_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    name: str
    colour: str


def _svg(title: str, description: str, height: int, body: list[str]) -> Markup:
    chart_id = f"chart-{next(_ids)}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
        *body,
        "</svg>",
    ]
    return Markup("\n".join(parts))  # noqa: S704 - every text above and in body is escaped


def _bar_width(value: int, largest: int) -> int:
    if value <= 0 or largest <= 0:
        return 0
    return max(round((WIDTH - LABEL_WIDTH - VALUE_WIDTH) * value / largest), 1)


def grouped_bars(
    title: str,
    description: str,
    groups: Sequence[tuple[str, Sequence[int]]],
    series: Sequence[str],
    label: Callable[[int], str],
    empty: str,
) -> Markup:
    """Horizontal bars, one group per row label with one bar per series (say
    claimed and payable per platform); ``label`` writes a value."""
    legend = [Series(name, PALETTE[n % len(PALETTE)]) for n, name in enumerate(series)]
    if not groups:
        return _svg(title, description, 40, [f'<text x="0" y="24" class="chart-empty">{escape(empty)}</text>'])
    largest = max((value for _, values in groups for value in values), default=0)
    body: list[str] = []
    x = 0
    for entry in legend:
        body.append(f'<rect x="{x}" y="6" width="14" height="14" fill="{entry.colour}"/>')
        body.append(f'<text x="{x + 20}" y="18" class="chart-legend">{escape(entry.name)}</text>')
        x += 30 + 8 * len(entry.name)
    y = LEGEND_HEIGHT + 8
    for name, values in groups:
        middle = y + (len(legend) * (BAR_HEIGHT + BAR_GAP)) / 2 + 4
        body.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{middle:.0f}" text-anchor="end" class="chart-label">{escape(name)}</text>'
        )
        for entry, value in zip(legend, values, strict=True):
            width = _bar_width(value, largest)
            text = f"{entry.name}: {label(value)}"
            body.append(
                f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT}" fill="{entry.colour}">'
                f"<title>{escape(name)}, {escape(text)}</title></rect>"
            )
            body.append(
                f'<text x="{LABEL_WIDTH + width + 6}" y="{y + BAR_HEIGHT - 4}" class="chart-value">'
                f"{escape(label(value))}</text>"
            )
            y += BAR_HEIGHT + BAR_GAP
        y += GROUP_GAP
    return _svg(title, description, y, body)


def bars(
    title: str,
    description: str,
    items: Sequence[tuple[str, int]],
    label: Callable[[int], str],
    empty: str,
    colour: str = PALETTE[2],
) -> Markup:
    """Horizontal bars, one per labelled value (say open breaks per type)."""
    if not items:
        return _svg(title, description, 40, [f'<text x="0" y="24" class="chart-empty">{escape(empty)}</text>'])
    largest = max(value for _, value in items)
    body: list[str] = []
    y = 8
    for name, value in items:
        width = _bar_width(value, largest)
        body.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT - 4}" text-anchor="end" class="chart-label">'
            f"{escape(name)}</text>"
        )
        body.append(
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT}" fill="{colour}">'
            f"<title>{escape(name)}: {escape(label(value))}</title></rect>"
        )
        body.append(
            f'<text x="{LABEL_WIDTH + width + 6}" y="{y + BAR_HEIGHT - 4}" class="chart-value">'
            f"{escape(label(value))}</text>"
        )
        y += BAR_HEIGHT + BAR_GAP + 6
    return _svg(title, description, y + 4, body)
