"""The layer API's pages for people: ``/api``, conformance, collections, one collection and
its items as HTML (``f=html``, or a browser whose Accept prefers text/html).

The pages show what the JSON shows to the same caller, nothing more: items are the
features of :mod:`mapsvc.finder.features` (already reduced by
:mod:`mapsvc.core.visibility`), so a professional field never reaches a public page. The
map is drawn by ``static/js/api_pages.js`` from a JSON data block (no inline script).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from flask import current_app, render_template, request

from mapsvc.finder import ogc
from mapsvc.finder.features import capability_text
from mapsvc.web.mapdata import audience, provider_index


def wants_html() -> bool:
    """``f=html``, or no ``f`` and an Accept header preferring HTML over JSON (a browser;
    ``*/*`` and clients without text/html get JSON)."""
    fmt = request.args.get("f")
    if fmt:
        return fmt == "html"
    accept = request.accept_mimetypes
    json_q = max(accept["application/json"], accept["application/geo+json"])
    return accept["text/html"] > json_q


def alternate(fmt: str) -> str:
    """This URL with ``f=fmt`` (the other representation of the same resource)."""
    params = [(k, v) for k, vs in request.args.lists() if k != "f" for v in vs]
    params.append(("f", fmt))
    return f"{request.base_url}?{urlencode(params)}"


def _basemap() -> dict[str, str]:
    cfg = current_app.config
    return {"url": str(cfg["BASEMAP_URL"]), "attribution": str(cfg["BASEMAP_ATTRIBUTION"])}


def _render(template: str, **context: Any) -> str:
    return render_template(
        f"api/{template}", json_url=alternate("json"), audience=audience(), **context
    )


def landing_page(doc: dict[str, Any], conformance: dict[str, Any]) -> str:
    return _render("landing.html", doc=doc, conformance=conformance["conformsTo"])


def conformance_page(doc: dict[str, Any]) -> str:
    return _render("conformance.html", conformance=doc["conformsTo"])


def collections_page(doc: dict[str, Any]) -> str:
    return _render("collections.html", doc=doc)


def collection_page(doc: dict[str, Any]) -> str:
    bbox = ((doc.get("extent") or {}).get("spatial") or {}).get("bbox") or [None]
    config = {"basemap": _basemap(), "bbox": bbox[0], "features": None}
    return _render("collection.html", doc=doc, map_config=config)


def _capabilities(props: dict[str, Any], lang: str) -> list[str]:
    """What a provider offers, in words (public: labels; professional: label and level)."""
    tax = provider_index().taxonomy
    caps = props.get("capabilities") or []
    if isinstance(caps, list):
        return [tax.capabilities[k].label.get(lang) for k in caps if k in tax.capabilities]
    return [
        f"{tax.capabilities[k].label.get(lang)}：{capability_text(tax, k, v, lang)}"
        for k, v in caps.items()
        if k in tax.capabilities
    ]


def items_page(
    doc: dict[str, Any],
    collection: dict[str, Any],
    parts: Sequence[bytes],
    offset: int,
    lang: str,
) -> str:
    features = [json.loads(p) for p in parts]
    rows = [
        {
            "id": f["id"],
            "props": f["properties"],
            "offers": _capabilities(f["properties"], lang),
        }
        for f in features
    ]
    points = [
        {
            "coordinates": f["geometry"]["coordinates"],
            "name": f["properties"].get("name") or "",
            "type_label": f["properties"].get("type_label") or "",
        }
        for f in features
    ]
    links = {link["rel"]: link["href"] for link in doc["links"] if link["rel"] in ("next", "prev")}
    config = {"basemap": _basemap(), "bbox": None, "features": points}
    return _render(
        "items.html",
        doc=doc,
        collection=collection,
        rows=rows,
        first=offset + 1,
        last=offset + len(rows),
        links=links,
        map_config=config,
        color=(collection.get("style") or {}).get("color", "#0b5cad"),
        geojson_url=alternate("json"),
        csv_url=alternate("csv"),
        media=ogc,
    )
