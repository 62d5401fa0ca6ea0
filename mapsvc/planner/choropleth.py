"""Choropleth data for the planner: one indicator over the areas of a kind, classed.

Class breaks come from :mod:`mapclassify` (quantiles; fewer classes when there are fewer
distinct values). Indicators are cached in this process per store generation, network
and dataset, so switching the indicator on the page does not recompute coverage.
"""

from __future__ import annotations

import threading
from typing import Any

import mapclassify
import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_hex

from mapsvc.core.errors import DataUnavailable, InvalidInput
from mapsvc.geo.areas import areas_frame
from mapsvc.planner.coverage import MISSING_EN, MISSING_JA
from mapsvc.planner.geojson import rfc7946
from mapsvc.planner.indicators import AREA_KINDS, indicator_label, indicator_unit

MISSING_COLOUR = "#9e9e9e"  # データなし: nobody answered the capability (not 0, not "–")
NO_VALUE_COLOUR = "#cccccc"  # "–": a rate over nobody
_CACHE: dict[tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()


def cached_indicators(services: Any, dataset: str | None) -> tuple[str, Any]:
    """:func:`mapsvc.planner.analyses.run_indicators`, cached per (generation, network, dataset)."""
    from mapsvc.geo.network import load_active_network
    from mapsvc.planner.analyses import run_indicators

    loaded = load_active_network(services)
    key = (
        services.config["DATABASE_URL"],
        services.store.generation("providers", "areas", "population"),
        loaded[1].signature if loaded else "",
        dataset or "",
    )
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    value = run_indicators(services, dataset)
    with _LOCK:
        if len(_CACHE) > 8:
            _CACHE.clear()
        _CACHE[key] = value
    return value


def class_breaks(values: np.ndarray, k: int) -> list[float]:
    """Upper bounds of up to ``k`` quantile classes of the finite values."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return []
    distinct = np.unique(finite)
    if distinct.size <= k:
        return [float(v) for v in distinct]
    return [float(b) for b in mapclassify.Quantiles(finite, k=k).bins]


def choropleth(
    services: Any, kind: str, indicator: str, k: int, dataset: str | None, lang: str = "ja"
) -> dict[str, Any]:
    """GeoJSON of the areas of ``kind`` with ``indicator`` values, classes and a legend.

    Raises
    ------
    InvalidInput
        Unknown area kind or indicator (the message lists some known indicators).
    DataUnavailable
        No areas of that kind are loaded.
    """
    if kind not in AREA_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(AREA_KINDS)}", field="kind")
    dataset, frame = cached_indicators(services, dataset)
    with services.store.session() as session:
        areas = areas_frame(session, kind)
    if len(areas) == 0:
        raise DataUnavailable(f"no {kind} areas are loaded", field="kind")
    rows = frame[(frame["area_kind"] == kind) & (frame["indicator"] == indicator)]
    if rows.empty:
        known = sorted({i for i in frame["indicator"] if i.startswith(indicator.split(":")[0])})
        hint = ", ".join(known[:8]) or ", ".join(sorted(set(frame["indicator"]))[:8])
        raise InvalidInput(f"unknown indicator {indicator!r}; e.g. {hint}", field="indicator")
    by_code = {r.area_code: r for r in rows.itertuples(index=False)}
    missing = {c for c, r in by_code.items() if bool(getattr(r, "missing", False))}
    values = np.array(
        [float(by_code[c].value) if c in by_code else np.nan for c in areas["code"]], dtype=float
    )
    breaks = class_breaks(values, k)
    palette = colormaps["YlOrRd"].resampled(max(len(breaks), 1))
    colours = [to_hex(palette(i)) for i in range(len(breaks))]
    features = []
    for code, name, geom, value in zip(
        areas["code"], areas["name"], areas.geometry, values, strict=True
    ):
        cls = None if not np.isfinite(value) else int(np.searchsorted(breaks, value, side="left"))
        row = by_code.get(code)
        colour = (
            colours[cls] if cls is not None
            else MISSING_COLOUR if code in missing
            else NO_VALUE_COLOUR
        )  # fmt: skip
        features.append(
            {
                "type": "Feature",
                "geometry": rfc7946(geom.simplify(0.0001)) if geom is not None else None,
                "properties": {
                    "code": code,
                    "name": name,
                    "value": None if not np.isfinite(value) else value,
                    "numerator": None if row is None else row.numerator,
                    "denominator": None if row is None else row.denominator,
                    "class": cls,
                    "colour": colour,
                    "missing": code in missing,
                },
            }
        )
    lower = [float(np.nanmin(values))] + breaks[:-1] if breaks else []
    legend = [
        {"from": lo, "to": hi, "colour": c}
        for lo, hi, c in zip(lower, breaks, colours, strict=True)
    ]
    if missing:
        legend.append(
            {
                "from": None,
                "to": None,
                "colour": MISSING_COLOUR,
                "missing": True,
                "label": MISSING_JA if lang != "en" else MISSING_EN,
            }
        )
    taxonomy = services.taxonomy
    return {
        "type": "FeatureCollection",
        "features": features,
        "indicator": indicator,
        "label": indicator_label(indicator, taxonomy, lang),
        "unit": indicator_unit(indicator, lang),
        "kind": kind,
        "population": dataset,
        "legend": legend,
        "indicators": sorted(set(frame.loc[frame["area_kind"] == kind, "indicator"])),
    }
