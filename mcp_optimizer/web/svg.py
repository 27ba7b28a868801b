"""Plots drawn by the server as SVG: small, dependency-free, readable on a phone.

:func:`panel` draws one time series (a step line, a line or bars) over a time range with its
axis labels; the channel page stacks panels on one time axis (fee rate, forwards, fees,
balance), so the fee history reads against what it earned.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 150
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 22, 22


@dataclass(frozen=True)
class Series:
    kind: str
    """step, line or bars."""
    points: Sequence[tuple[float, float]]
    """(time s, value), by time."""
    label: str
    css: str = "s1"
    """CSS class of the mark (app.css colours s1, s2, s3, s4)."""
    bar_s: float = 86400.0
    """Width of a bar, in seconds."""


def _fmt(v: float) -> str:
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:.3g}G"
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e3:
        return f"{v / 1e3:.3g}k"
    if a == int(a):
        return str(int(v))
    return f"{v:.3g}"


def _date(t: float, span: float) -> str:
    tm = time.gmtime(t)
    return time.strftime("%m-%d %H:%M" if span < 3 * 86400 else "%m-%d", tm)


def panel(series: Series, t0: float, t1: float, *, title: str = "",
          width: int = WIDTH, height: int = HEIGHT, y_min: float | None = None,
          y_max: float | None = None) -> str:
    """One SVG panel. ``t0..t1`` is the time axis; values outside are not drawn."""
    pts = [(t, v) for t, v in series.points if t0 <= t <= t1 or series.kind == "step"]
    if t1 <= t0:
        t1 = t0 + 1
    vals = [v for _, v in pts]
    lo = min([0.0, *vals]) if y_min is None else y_min
    hi = max([1.0, *vals]) if y_max is None else y_max
    if hi <= lo:
        hi = lo + 1
    pw, ph = width - LEFT - RIGHT, height - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (min(max(t, t0), t1) - t0) / (t1 - t0) * pw

    def y(v: float) -> float:
        return TOP + ph - (v - lo) / (hi - lo) * ph

    out = [
        f'<svg class="plot" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title or series.label)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text class="t" x="{LEFT}" y="14">{escape(title or series.label)}</text>',
        f'<line class="ax" x1="{LEFT}" y1="{TOP + ph}" x2="{LEFT + pw}" y2="{TOP + ph}"/>',
        f'<line class="ax" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + ph}"/>',
    ]
    for v in (lo, (lo + hi) / 2, hi):
        out.append(f'<text class="yl" x="{LEFT - 4}" y="{y(v) + 4:.1f}">{_fmt(v)}</text>')
        out.append(f'<line class="grid" x1="{LEFT}" y1="{y(v):.1f}" x2="{LEFT + pw}" '
                   f'y2="{y(v):.1f}"/>')
    for i in range(5):
        t = t0 + (t1 - t0) * i / 4
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        out.append(f'<text class="xl" text-anchor="{anchor}" x="{x(t):.1f}" '
                   f'y="{height - 6}">{_date(t, t1 - t0)}</text>')
    if not pts:
        out.append(f'<text class="none" x="{LEFT + pw / 2}" y="{TOP + ph / 2}">no data in '
                   'this period</text>')
    elif series.kind == "bars":
        bw = max(1.0, series.bar_s / (t1 - t0) * pw - 1)
        for t, v in pts:
            top, base = y(max(v, lo)), y(max(lo, 0))
            out.append(f'<rect class="{series.css}" x="{x(t):.1f}" y="{min(top, base):.1f}" '
                       f'width="{bw:.1f}" height="{abs(base - top):.1f}">'
                       f'<title>{_date(t, 0)}: {_fmt(v)}</title></rect>')
    else:
        path: list[str] = []
        prev_v: float | None = None
        for t, v in pts:
            if series.kind == "step" and prev_v is not None:
                path.append(f"L{x(t):.1f},{y(prev_v):.1f}")
            path.append(("M" if not path else "L") + f"{x(t):.1f},{y(v):.1f}")
            prev_v = v
        if series.kind == "step" and prev_v is not None:
            path.append(f"L{x(t1):.1f},{y(prev_v):.1f}")
        out.append(f'<path class="{series.css} ln" d="{" ".join(path)}"/>')
        for t, v in pts:
            if t0 <= t <= t1:
                out.append(f'<circle class="{series.css}" cx="{x(t):.1f}" cy="{y(v):.1f}" '
                           f'r="2.5"><title>{_date(t, 0)}: {_fmt(v)}</title></circle>')
    out.append("</svg>")
    return "".join(out)
