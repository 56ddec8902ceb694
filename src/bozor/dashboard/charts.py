"""Charts as inline SVG, drawn on the server: no script, no external asset, works offline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 28


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: Sequence[int]
    css: str  # class of the line: s1, s2, s3...


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    step: int = 10 ** (len(str(value)) - 1)
    return ((value + step - 1) // step) * step


def line_chart(labels: Sequence[str], series: Sequence[Series], *, title: str) -> Markup:
    """Lines over a shared x axis (e.g. days), with a legend; `title` is read by screen
    readers."""
    count = len(labels)
    top = _nice_max(max((v for s in series for v in s.values), default=0))
    # Room for the widest value on the y axis (11 px digits), at least LEFT.
    left = max(LEFT, 14 + 7 * len(str(top)))
    plot_w, plot_h = WIDTH - left - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return left + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y(v: int) -> float:
        return TOP + plot_h - plot_h * v / top

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
    ]
    for k in range(5):
        value = top * k // 4
        parts.append(
            f'<line class="grid" x1="{left}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" '
            f'y2="{y(value):.1f}"/><text class="axis" x="{left - 6}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end">{value}</text>'
        )
    every = max(1, count // 7)
    for i, label in enumerate(labels):
        if i % every == 0 or (i == count - 1 and i % every > every // 2):
            # The last label ends at its point: centred there, half of it fell off the chart.
            anchor = "end" if i == count - 1 and count > 1 else "middle"
            parts.append(
                f'<text class="axis" x="{x(i):.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="{anchor}">{escape(label)}</text>'
            )
    for s in series:
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        parts.append(f'<polyline class="line {s.css}" points="{points}"/>')
        for i, v in enumerate(s.values):
            parts.append(
                f'<circle class="dot {s.css}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5">'
                f"<title>{escape(labels[i])}: {v} {escape(s.label)}</title></circle>"
            )
    parts.append("</svg>")
    legend = "".join(f'<span class="key {s.css}">{escape(s.label)}</span>' for s in series)
    return Markup(
        f'<figure class="chart-box">{"".join(parts)}<figcaption>{legend}</figcaption></figure>'
    )


def funnel_bars(steps: Sequence[tuple[str, int]], *, title: str) -> Markup:
    """Horizontal bars, each step's share of the first (clicks → sign-ups → confirmed)."""
    first = max(steps[0][1], 1) if steps else 1
    rows = []
    for label, value in steps:
        share = 100 * value / first
        rows.append(
            f'<div class="bar-row"><span class="bar-label">{escape(label)}</span>'
            f'<span class="bar"><span class="fill" style="width:{min(share, 100):.1f}%">'
            "</span></span>"
            f'<span class="bar-value">{value} <small>({share:.0f}%)</small></span></div>'
        )
    return Markup(
        f'<div class="funnel" role="img" aria-label="{escape(title)}">{"".join(rows)}</div>'
    )
