"""The planner blueprint, its role check and request parsing (shared by the pages and
the downloads)."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint

from mapsvc.core.errors import InvalidInput
from mapsvc.web.auth import role_required

bp = Blueprint("planner", __name__)
MAX_SPECS = 10


# JSON endpoints for planners: the app answers 401/403 and errors as JSON on …/api/… and
# …/download/… paths (mapsvc.web.errors.wants_json), so the page role check serves both.
api = role_required("planner")


# ---- request parsing -------------------------------------------------------------------


def _number(source: dict[str, Any], name: str) -> float | None:
    raw = source.get(name)
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number, got {raw!r}", field=name) from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidInput(f"{name} must be a number > 0, got {raw!r}", field=name)
    return value


def _list(source: Any, name: str) -> list[str]:
    values = source.getlist(name) if hasattr(source, "getlist") else source.get(name) or []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or len(values) > MAX_SPECS:
        raise InvalidInput(f"{name}: at most {MAX_SPECS} values", field=name)
    return [str(v) for v in values if str(v).strip()]


def analysis_args(source: Any) -> dict[str, Any]:
    """Capabilities, types, limit and dataset from query args or a JSON body."""
    return {
        "specs": _list(source, "capability"),
        "types": _list(source, "type"),
        "minutes": _number(source, "minutes"),
        "radius_km": _number(source, "radius_km"),
        "dataset": (source.get("population") or None),
    }
