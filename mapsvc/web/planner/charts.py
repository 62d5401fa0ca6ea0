"""The planner's chart endpoints (``/planner/api/charts/…``): chart specs computed by the
server (:mod:`mapsvc.planner.chart_data`); the page only draws them.

The coverage-by-age-band chart comes with the coverage answer (``chart`` in
``/planner/api/coverage``), so it always shows the analysis on the map.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from mapsvc.core.errors import InvalidInput
from mapsvc.web.context import services
from mapsvc.web.i18n import get_lang
from mapsvc.web.planner._common import api, bp

DEFAULT_INDICATOR = "per1000_75:cap:home_visit_medical"


def _required(name: str) -> str:
    value = (request.args.get(name) or "").strip()
    if not value:
        raise InvalidInput(f"{name} is required", field=name)
    return value


@bp.route("/api/charts/trend")
@api
def trend_chart_api() -> Any:
    """One indicator of one area over the stored snapshots, against its target
    (query: kind, code, indicator, population)."""
    from mapsvc.planner.analyses import json_safe
    from mapsvc.planner.chart_data import trend

    spec = trend(
        services(),
        request.args.get("kind") or "daily_life_area",
        _required("code"),
        request.args.get("indicator") or DEFAULT_INDICATOR,
        request.args.get("population"),
        get_lang(),
    )
    return jsonify(json_safe(spec))


@bp.route("/api/charts/medical-area")
@api
def medical_area_chart_api() -> Any:
    """The municipalities of one 二次医療圏 on one indicator (query: indicator, code — a
    二次医療圏 or a municipality in it; default the 圏域 with most municipalities)."""
    from mapsvc.planner.analyses import json_safe
    from mapsvc.planner.chart_data import medical_area

    spec = medical_area(
        services(),
        request.args.get("indicator") or DEFAULT_INDICATOR,
        request.args.get("code") or None,
        request.args.get("population"),
        get_lang(),
    )
    return jsonify(json_safe(spec))
