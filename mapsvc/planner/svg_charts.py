"""Chart specs (:mod:`mapsvc.planner.charts`) drawn as inline SVG for the printed report.

Server-side and vector, so the report prints (and saves as PDF) the same with or without
JavaScript. The drawing follows the spec only: no number is computed here beyond placing
it on the axis. Notes (データなし, why a chart is absent, no target) are the template's.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

FONT = "'Noto Sans CJK JP','Noto Sans JP','IPAexGothic',sans-serif"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^n at or above ``value`` (1 for nothing)."""
    if not value or value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value - 1e-12:
            return float(step * power)
    return float(10 * power)


def tick_text(value: float, unit: str) -> str:
    """Axis label: thousands separators, no scientific notation, % for shares."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{text}%" if unit == "%" else text


def _text(x: float, y: float, body: str, size: float = 9, anchor: str = "start", **kw: Any) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in kw.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"'
        f' font-family="{FONT}"{extra}>{escape(body)}</text>'
    )


def drawable(spec: dict[str, Any]) -> bool:
    """Anything to draw: categories and at least one known value (not all データなし)."""
    values = [v for s in spec.get("series") or [] for v in s["values"]]
    return bool(spec.get("labels")) and any(v is not None for v in values)


def render(spec: dict[str, Any], width: int = 360, height: int = 190) -> str:
    """One chart as an ``<svg>`` element (role img, titled); "" when there is nothing to
    draw (the template then prints only the spec's notes: データなし or why it is absent)."""
    title = escape(spec.get("title") or "")
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" data-chart="{escape(spec["id"])}"'
        f' viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img"'
        f' aria-label="{title}"><title>{title}</title>'
    )
    labels = spec.get("labels") or []
    if not drawable(spec):
        return ""
    parts = [head]
    left, right, top, bottom = 46.0, 8.0, 30.0, 44.0
    plot_w, plot_h = width - left - right, height - top - bottom
    series = spec["series"]
    stacked = spec["kind"] == "stacked_bar"
    if stacked:
        heights = [sum(s["values"][i] or 0 for s in series) for i in range(len(labels))]
    else:
        heights = [v for s in series for v in s["values"] if v is not None]
    lines = [ln for ln in (spec.get("target"), spec.get("reference")) if ln]
    peak = max([*heights, *(ln["value"] for ln in lines if ln["value"] is not None), 0])
    top_value = nice_ceiling(peak)

    def y_of(v: float) -> float:
        return top + plot_h * (1 - v / top_value)

    unit = spec.get("unit") or ""
    for i in range(5):
        v = top_value * i / 4
        y = y_of(v)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(_text(left - 4, y + 3, tick_text(v, unit), 8, "end", fill="#444"))
    n = len(labels)
    slot = plot_w / n
    step = max(1, math.ceil(n / 12)) if spec["kind"] != "bar" else 1
    for i, label in enumerate(labels):
        if i % step:
            continue
        x = left + slot * (i + 0.5)
        parts.append(
            _text(
                x,
                top + plot_h + 10,
                label,
                7.5,
                "end",
                transform=f"rotate(-35 {x:.1f} {top + plot_h + 10:.1f})",
            )
        )
    if spec["kind"] in ("stacked_bar", "bar"):
        parts += _bars(spec, left, slot, y_of, stacked)
    else:
        parts += _line(spec, left, slot, y_of)
    for ln, colour in ((spec.get("target"), "#d62828"), (spec.get("reference"), "#b08900")):
        if ln and ln["value"] is not None:
            y = y_of(ln["value"])
            parts.append(
                f'<line class="chart-line-{escape(ln["label"])}" x1="{left}" x2="{width - right}"'
                f' y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" stroke-width="1.5" stroke-dasharray="5 3"/>'
            )
            parts.append(
                _text(width - right, y - 3, f"{ln['label']} {ln['text']}", 8, "end", fill=colour)
            )
    parts.append(
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#666"/>'
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#666"/>'
    )
    parts += _legend(series, left)
    if unit:
        wrapped = f"({unit})" if unit.isascii() else f"（{unit}）"
        parts.append(_text(4, 25, wrapped, 8, fill="#444"))
    parts.append("</svg>")
    return "".join(parts)


def _bars(spec: dict[str, Any], left: float, slot: float, y_of: Any, stacked: bool) -> list[str]:
    out = []
    series = spec["series"]
    width = slot * (0.7 if stacked else 0.6)
    for i in range(len(spec["labels"])):
        base = 0.0
        for s in series:
            value = s["values"][i]
            if value is None:
                continue
            y0, y1 = y_of(base), y_of(base + value)
            x = left + slot * i + (slot - width) / 2
            out.append(
                f'<rect class="bar-{escape(s["key"])}" x="{x:.1f}" y="{y1:.1f}" width="{width:.1f}"'
                f' height="{max(y0 - y1, 0):.1f}" fill="{s["colour"]}"/>'
            )
            base = base + value if stacked else 0.0
    return out


def _line(spec: dict[str, Any], left: float, slot: float, y_of: Any) -> list[str]:
    out = []
    for s in spec["series"]:
        points = [
            (left + slot * (i + 0.5), y_of(v)) for i, v in enumerate(s["values"]) if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{s["colour"]}" stroke-width="2"/>'
            )
        out += [
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{s["colour"]}"/>'
            for x, y in points
        ]
    return out


def _legend(series: list[dict[str, Any]], left: float) -> list[str]:
    out = []
    x = 4.0
    for s in series:
        out.append(f'<rect x="{x:.1f}" y="4" width="9" height="9" fill="{s["colour"]}"/>')
        out.append(_text(x + 12, 12, s["label"], 8))
        x += 24 + 8.5 * len(s["label"])
    return out
