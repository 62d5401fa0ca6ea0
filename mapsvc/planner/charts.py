"""Chart data for the planner page and its printed report: one spec, two renderers.

Each builder returns a JSON-ready *spec* that both the page (Chart.js, drawn by
``static/js/planner_charts.js``) and the report (inline SVG from
:mod:`mapsvc.planner.svg_charts`) draw without computing any number themselves::

    {"id", "kind": "stacked_bar" | "line" | "bar", "title", "caption", "unit",
     "labels": [category, ...],
     "series": [{"key", "label", "colour", "values": [number | None, ...]}],
     "target": {"label", "value", "text"} | None,      # a horizontal target line
     "reference": {"label", "value", "text"} | None,   # e.g. the 二次医療圏 as a whole
     "columns": [heading, ...], "rows": [[cell text, ...], ...],  # the table beside it
     "missing": text | None,   # データなし: nobody answered the item (values None, never 0)
     "no_denominator": text | None,  # 対象人口なし: a rate over a population of 0
     "absent": text | None}    # why there is nothing to draw (and what would fix it)

Labels come from the taxonomy (:func:`mapsvc.planner.indicators.indicator_label`) and
:func:`band_label`; table cells are formatted here (thousands separators, shares as %).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mapsvc.core.taxonomy import Taxonomy
from mapsvc.planner.coverage import COUNT_COLUMNS, MISSING_EN, MISSING_JA
from mapsvc.planner.indicators import indicator_label

COLOURS = {
    "covered": "#2a9d8f",
    "uncovered": "#e76f51",
    "unknown": "#bbbbbb",
    "value": "#1d3557",
    "target": "#d62828",
    "reference": "#e9c46a",
}
FIVE_YEAR = COUNT_COLUMNS[1:-2]  # the 18 five-year bands, youngest first
# a rate over nobody (its denominator, the area's population or 75+, was 0) — not データなし
NO_DENOMINATOR_SHORT_JA, NO_DENOMINATOR_SHORT_EN = "対象人口なし", "No residents"
NO_DENOMINATOR_JA = "対象人口なし（その時点の対象人口が0人のため率がありません）"
NO_DENOMINATOR_EN = "No residents (the population the rate is taken over was 0)"


def _t(ja: str, en: str, lang: str) -> str:
    return en if lang == "en" else ja


def missing_text(lang: str = "ja") -> str:
    return MISSING_EN if lang == "en" else MISSING_JA


def band_label(band: str, lang: str = "ja") -> str:
    """``"0-4"`` → 0〜4歳, ``"85+"`` → 85歳以上, ``"total"`` → 合計 (English likewise)."""
    if band == "total":
        return _t("合計", "Total", lang)
    if band.endswith("+"):
        return _t(f"{band[:-1]}歳以上", f"{band[:-1]} and over", lang)
    lo, _, hi = band.partition("-")
    return _t(f"{lo}〜{hi}歳", f"{lo}–{hi}", lang)


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt_int(value: Any) -> str:
    number = _finite(value)
    return "–" if number is None else f"{round(number):,}"


def fmt_share(value: Any) -> str:
    """A share 0..1 as a percentage with one decimal (0.4532 → 45.3%)."""
    number = _finite(value)
    return "–" if number is None else f"{number * 100:,.1f}%"


def is_share(indicator: str) -> bool:
    return indicator.startswith("covered75:")


def chart_value(indicator: str, value: Any) -> float | None:
    """The number a chart plots: shares in percent, rates to 2 decimals, None if unknown."""
    number = _finite(value)
    if number is None:
        return None
    return round(number * 100, 1) if is_share(indicator) else round(number, 2)


def format_indicator(indicator: str, value: Any) -> str:
    """Table text: shares as %, counts and people as integers, rates with 2 decimals."""
    number = _finite(value)
    if number is None:
        return "–"
    if is_share(indicator):
        return fmt_share(number)
    if indicator.startswith(("count:", "population:")):
        return fmt_int(number)
    return f"{number:,.2f}"


def chart_unit(indicator: str, lang: str = "ja") -> str:
    from mapsvc.planner.indicators import indicator_unit

    return "%" if is_share(indicator) else indicator_unit(indicator, lang)


def indicator_capability(indicator: str) -> str | None:
    """The capability an indicator counts (``per100k:cap:K`` / ``covered75:K``), else None."""
    parts = indicator.split(":")
    if len(parts) == 3 and parts[1] == "cap":
        return parts[2]
    if len(parts) == 2 and parts[0] == "covered75":
        return parts[1]
    return None


def unanswered_capabilities(providers: Any, taxonomy: Taxonomy) -> set[str]:
    """Capabilities no active provider of a type they apply to has answered at all."""
    from mapsvc.core.filters import CapabilityFilter
    from mapsvc.planner.coverage import unanswered

    keys = [CapabilityFilter(k) for k, c in taxonomy.capabilities.items()]
    return set(unanswered(providers, keys, taxonomy))  # type: ignore[arg-type]


def chart_label(indicator: str, taxonomy: Taxonomy, lang: str = "ja") -> str:
    """訪問診療（件/10万人）; a covered share reads 訪問診療のカバー率（75歳以上）."""
    from mapsvc.planner.indicators import indicator_unit

    if indicator == "population:total":
        return _t("総人口（人）", "Population (people)", lang)
    if indicator == "population:75+":
        return _t("75歳以上人口（人）", "Population aged 75+ (people)", lang)
    name = indicator_label(indicator, taxonomy, lang)
    unit = f" ({indicator_unit(indicator, lang)})"
    subject = name[: -len(unit)] if name.endswith(unit) else name
    if is_share(indicator):
        return _t(f"{subject}のカバー率（75歳以上）", f"{subject}: share of 75+ covered", lang)
    return _t(f"{subject}（{indicator_unit(indicator, lang)}）", name, lang)


def _spec(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "target": None,
        "target_note": None,
        "reference": None,
        "missing": None,
        "no_denominator": None,
        "absent": None,
        "series": [],
        "labels": [],
        "rows": [],
    }
    base.update(fields)
    return base


def coverage_bands_chart(
    population: Any, covered: np.ndarray, description: str, missing: bool, lang: str = "ja"
) -> dict[str, Any]:
    """Covered and uncovered people per five-year band (stacked), and the table with 合計.

    When nobody answered the capability (``missing``) the bars show the band's people in
    grey as データなし and the table says データなし instead of covered counts or shares.
    """
    counts = []
    for col in (*FIVE_YEAR, "total", "65+", "75+"):
        values = population[col].to_numpy(dtype=np.int64) if len(population) else np.zeros(0)
        total = int(values.sum())
        cov = int(values[covered].sum()) if len(values) else 0
        counts.append((col, total, cov))
    labels = [band_label(b, lang) for b, _, _ in counts[: len(FIVE_YEAR)]]
    bars = counts[: len(FIVE_YEAR)]
    nodata = missing_text(lang)
    short = _t("データなし", "No data", lang)
    if missing:
        series = [
            {
                "key": "unknown",
                "label": _t("データなし（人口）", "No data (people)", lang),
                "colour": COLOURS["unknown"],
                "values": [t for _, t, _ in bars],
            }
        ]
        rows = [[band_label(b, lang), fmt_int(t), short, short, short] for b, t, _ in counts]
    else:
        series = [
            {
                "key": "covered",
                "label": _t("カバー", "Covered", lang),
                "colour": COLOURS["covered"],
                "values": [c for _, _, c in bars],
            },
            {
                "key": "uncovered",
                "label": _t("未カバー", "Not covered", lang),
                "colour": COLOURS["uncovered"],
                "values": [t - c for _, t, c in bars],
            },
        ]
        rows = [
            [
                band_label(b, lang),
                fmt_int(t),
                fmt_int(c),
                fmt_int(t - c),
                fmt_share(c / t if t else None),
            ]
            for b, t, c in counts
        ]
    return _spec(
        id="coverage_bands",
        kind="stacked_bar",
        title=_t(
            f"年齢階級別のカバー（{description}）", f"Coverage by age band ({description})", lang
        ),
        caption=_t("年齢階級別のカバー人口（人）", "People covered by age band", lang),
        unit=_t("人", "people", lang),
        labels=labels,
        series=series,
        columns=[
            _t("年齢", "Age", lang),
            _t("人口", "Total", lang),
            _t("カバー", "Covered", lang),
            _t("未カバー", "Not covered", lang),
            _t("カバー率", "Share covered", lang),
        ],
        rows=rows,
        missing=nodata if missing else None,
    )


def no_denominator_text(lang: str = "ja") -> str:
    return NO_DENOMINATOR_EN if lang == "en" else NO_DENOMINATOR_JA


def trend_chart(
    indicator: str,
    area_name: str,
    points: list[tuple[str, Any]],
    target: Any,
    taxonomy: Taxonomy,
    states: list[str | None],
    lang: str = "ja",
) -> dict[str, Any]:
    """One indicator of one area over the stored snapshots (oldest first; the last point may
    be 現在, today's value), with its target line. Targets and snapshots are set on the CLI
    (``mapsvc indicators --snapshot`` / ``--target``); the page shows them read-only.

    ``states`` has one entry per point (:func:`mapsvc.planner.indicators.value_state`):
    ``"missing"`` — nobody had answered the item (データなし, the note says why);
    ``"no_denominator"`` — a rate over nobody (対象人口なし); None — a number."""
    label = chart_label(indicator, taxonomy, lang)
    unit = chart_unit(indicator, lang)
    goal = _finite(target)
    words = {
        "missing": _t("データなし", "No data", lang),
        "no_denominator": _t(NO_DENOMINATOR_SHORT_JA, NO_DENOMINATOR_SHORT_EN, lang),
    }
    values = [
        None if state else chart_value(indicator, v)
        for (_, v), state in zip(points, states, strict=True)
    ]
    cells = [
        words[state] if state else format_indicator(indicator, v)
        for (_, v), state in zip(points, states, strict=True)
    ]
    target_text = format_indicator(indicator, goal) if goal is not None else "–"
    rows = [[day, cell, target_text] for (day, _), cell in zip(points, cells, strict=True)]
    snapshots = [p for p in points if p[0] not in ("現在", "now")]
    absent = None
    if not snapshots:
        absent = _t(
            "保存されたスナップショットがありません（`mapsvc indicators --snapshot` で保存すると推移を表示します）",
            "No stored snapshots (store one with `mapsvc indicators --snapshot` to see the trend)",
            lang,
        )
    return _spec(
        id="trend",
        kind="line",
        title=_t(
            f"{area_name}：{label}の推移と目標", f"{area_name}: {label} over time and target", lang
        ),
        caption=_t(f"{area_name}の{label}の推移", f"{label} by snapshot, {area_name}", lang),
        unit=unit,
        labels=[day for day, _ in points],
        series=[{"key": "value", "label": label, "colour": COLOURS["value"], "values": values}],
        target=None
        if goal is None
        else {
            "label": _t("目標", "Target", lang),
            "value": chart_value(indicator, goal),
            "text": target_text,
        },
        target_note=None
        if goal is not None
        else _t(
            "目標は未設定です（`mapsvc indicators --target` で設定）",
            "No target set (set one with `mapsvc indicators --target`)",
            lang,
        ),
        columns=[_t("時点", "Date", lang), _t("値", "Value", lang), _t("目標", "Target", lang)],
        rows=rows,
        missing=missing_text(lang) if "missing" in states else None,
        no_denominator=no_denominator_text(lang) if "no_denominator" in states else None,
        absent=absent,
    )


def medical_area_chart(
    indicator: str,
    sma_name: str | None,
    municipalities: list[tuple[str, Any]],
    reference: Any,
    taxonomy: Taxonomy,
    missing: bool,
    absent: str | None,
    lang: str = "ja",
) -> dict[str, Any]:
    """The municipalities of one 二次医療圏 on one indicator (bars), with the 圏域 as a line."""
    label = chart_label(indicator, taxonomy, lang)
    unit = chart_unit(indicator, lang)
    nodata = missing_text(lang)
    values = [None if missing else chart_value(indicator, v) for _, v in municipalities]
    rows = [
        [name, _t("データなし", "No data", lang) if missing else format_indicator(indicator, v)]
        for name, v in municipalities
    ]
    ref = None if missing else _finite(reference)
    title_area = sma_name or _t("二次医療圏", "Secondary medical area", lang)
    return _spec(
        id="medical_area",
        kind="bar",
        title=_t(
            f"{title_area}の市町村比較：{label}", f"Municipalities of {title_area}: {label}", lang
        ),
        caption=_t(
            f"{title_area}の市町村別 {label}", f"{label} by municipality, {title_area}", lang
        ),
        unit=unit,
        labels=[name for name, _ in municipalities],
        series=[{"key": "value", "label": label, "colour": COLOURS["value"], "values": values}],
        reference=None
        if ref is None
        else {
            "label": _t(f"{title_area}全体", f"{title_area} as a whole", lang),
            "value": chart_value(indicator, ref),
            "text": format_indicator(indicator, ref),
        },
        columns=[_t("市町村", "Municipality", lang), _t("値", "Value", lang)],
        rows=rows,
        missing=nodata if missing and municipalities else None,
        absent=absent,
    )
