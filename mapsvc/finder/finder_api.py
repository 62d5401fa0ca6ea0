"""The JSON finder's answer and its OpenAPI description (no Flask).

The answer repeats the query's conditions, never the point or the address: the caller
sent them, and a response that is logged or cached elsewhere must not carry a patient's
place. Each result has its reasons, matched levels, distance, minutes and confirmation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from mapsvc.core.staleness import confirmation_badge
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.finder.explain import Explanation
from mapsvc.finder.index import ProviderIndex
from mapsvc.finder.search import FinderResult
from mapsvc.finder.shortlist import CONTACT_FIELDS

PATH = "/pro/api/finder"


def answer(
    result: FinderResult,
    results: list[dict[str, Any]],
    lang: str,
    matched: str | None,
    why: Explanation | None,
) -> dict[str, Any]:
    """The finder result as JSON: results in order (:func:`result_rows`), with the seed
    to repeat the order."""
    return {
        "conditions": {"cap": result.filters.specs(), "type": list(result.filters.types)},
        "order": result.order,
        "order_note": result.order_note().get(lang),
        "network": result.network,
        "seed": result.seed,
        "approximated": matched is not None,  # the place itself is not repeated
        "notes": [n.get(lang) for n in result.notes],
        "numberReturned": len(results),
        "results": results,
        "why_few": why.as_dict(lang) if why is not None else None,
    }


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def result_rows(
    result: FinderResult,
    index: ProviderIndex,
    lang: str,
    config: Mapping[str, Any],
    now: datetime,
) -> list[dict[str, Any]]:
    """The answer's results: what ``shortlist_rows`` gives the professional audience, but
    reading only the fields the answer shows (name, type, address, contact fields and the
    confirmation dates) and the capability answers asked for, one decode per provider.
    The confirmation badge and the type's label are worded once per request."""
    taxonomy = index.taxonomy
    shown = tuple(f for f in ("name", "type", "address", *CONTACT_FIELDS) if f in taxonomy.fields)
    names = (*shown, "type", "confirmed_at", "created_at")
    asked = [(f.key, f.key in taxonomy.capabilities) for f in result.filters.capabilities]
    badges: dict[tuple[Any, Any], dict[str, Any]] = {}
    labels: dict[Any, Any] = {}
    positions = [m.pos for m in result.matches]
    lons, lats = index.lon[positions].tolist(), index.lat[positions].tolist()
    out = []
    records = index.pick_many(positions, names)
    for match, lon, lat, record in zip(result.matches, lons, lats, records, strict=True):
        props = {f: _jsonable(record[f]) for f in shown if f in record}
        ptype = record.get("type")
        if ptype not in labels:
            found = taxonomy.provider_types.get(str(ptype))
            labels[ptype] = found.label.get(lang) if found else ptype
        when = (record.get("confirmed_at"), record.get("created_at"))
        badge = badges.get(when)
        if badge is None:
            full = confirmation_badge(record, now, config, lang)
            badge = badges[when] = {k: full[k] for k in ("state", "label", "date", "text")}
        drive = match.travel_text()
        out.append(
            {
                "rank": match.rank,
                "id": match.uid,
                "name": props.get("name"),
                "type": props.get("type"),
                "type_label": labels[ptype],
                "address": props.get("address"),
                "lon": lon,
                "lat": lat,
                "distance_km": match.distance_km,
                "travel_min": match.travel_min,
                "travel_text": drive.get(lang) if drive else None,
                "area_rule": match.area_rule,
                "reasons": [r.get(lang) for r in match.reasons],
                "levels": {  # the answers the search read (as reduce_record keeps them)
                    key: dict(value) if known and value else None
                    for (key, known), value in zip(asked, match.answers, strict=True)
                },
                "contact": {f: props[f] for f in CONTACT_FIELDS if props.get(f)},
                "confirmation": dict(badge),
            }
        )
    return out


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
