"""The JSON finder's answer and its OpenAPI description (no Flask).

The answer repeats the query's conditions, never the point or the address: the caller
sent them, and a response that is logged or cached elsewhere must not carry a patient's
place. Each result has its reasons, matched levels, distance, minutes and confirmation.
"""

from __future__ import annotations

from typing import Any

from mapsvc.core.taxonomy import Taxonomy
from mapsvc.finder.explain import Explanation
from mapsvc.finder.search import FinderResult
from mapsvc.finder.shortlist import CONTACT_FIELDS

PATH = "/pro/api/finder"


def answer(
    result: FinderResult,
    rows: list[dict[str, Any]],
    lang: str,
    matched: str | None,
    why: Explanation | None,
) -> dict[str, Any]:
    """The finder result as JSON: results in order, with the seed to repeat the order."""
    caps = [f.key for f in result.filters.capabilities]
    return {
        "conditions": {"cap": result.filters.specs(), "type": list(result.filters.types)},
        "order": result.order,
        "order_note": result.order_note().get(lang),
        "network": result.network,
        "seed": result.seed,
        "approximated": matched is not None,  # the place itself is not repeated
        "notes": [n.get(lang) for n in result.notes],
        "numberReturned": len(rows),
        "results": [
            {
                "rank": row["rank"],
                "id": row["uid"],
                "name": row["name"],
                "type": row["props"].get("type"),
                "type_label": row["type_label"],
                "address": row["address"],
                "lon": row["lon"],
                "lat": row["lat"],
                "distance_km": row["distance_km"],
                "travel_min": row["travel_min"],
                "travel_text": row["travel_text"],
                "area_rule": row["area_rule"],
                "reasons": row["reasons"],
                "levels": {key: (row["props"].get("capabilities") or {}).get(key) for key in caps},
                "contact": {f: row["props"].get(f) for f in CONTACT_FIELDS if row["props"].get(f)},
                "confirmation": row["confirmation"],
            }
            for row in rows
        ],
        "why_few": why.as_dict(lang) if why is not None else None,
    }


def openapi_paths(taxonomy: Taxonomy) -> dict[str, Any]:
    """The finder's path for the professional OpenAPI document."""
    caps = [k for k, c in taxonomy.capabilities.items() if c.kind != "text"]
    levels = [lv.key for lv in taxonomy.levels if lv.rank > 0]
    query = {
        "type": "object",
        "description": "The same query as the /pro form. Give an address or lon+lat.",
        "properties": {
            "address": {
                "type": "string",
                "maxLength": 200,
                "description": "The patient's address; geocoded, never stored or logged",
            },
            "lon": {"type": "number", "minimum": 122, "maximum": 154},
            "lat": {"type": "number", "minimum": 20, "maximum": 46},
            "cap": {
                "type": "array",
                "items": {"type": "string"},
                "description": (
                    f"Required capabilities: KEY or KEY:LEVEL (LEVEL = {', '.join(levels)}),"
                    f" KEY:OPTION for choices. Keys: {', '.join(caps)}."
                ),
            },
            "type": {
                "type": "array",
                "items": {"type": "string", "enum": list(taxonomy.provider_types)},
            },
            "seed": {
                "type": "integer",
                "minimum": 0,
                "description": "Tie-break seed from an earlier answer, to repeat its order",
            },
        },
    }
    error = {"description": "Bad input; `field` names it", "content": {"application/json": {}}}
    return {
        PATH: {
            "post": {
                "summary": "Providers who can serve a point with these needs (professionals)",
                "description": (
                    "Authenticate with the professional session or `Authorization: Bearer "
                    "<token>` (a per-user token an editor issues). The body must be JSON. "
                    "The answer never repeats the point or the address."
                ),
                "security": [{"bearerToken": []}, {"session": []}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": query}},
                },
                "responses": {
                    "200": {
                        "description": "Results in order, with reasons, levels, distance, "
                        "minutes, confirmation and the seed",
                        "content": {"application/json": {}},
                    },
                    "400": error,
                    "401": {"description": "No session or token"},
                    "415": {"description": "The body is not JSON"},
                },
            }
        }
    }


SECURITY_SCHEMES = {
    "bearerToken": {"type": "http", "scheme": "bearer"},
    "session": {"type": "apiKey", "in": "cookie", "name": "session"},
}
