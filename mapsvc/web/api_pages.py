"""The layer API's pages for people: ``/api``, conformance, collections, one collection, its
items and one item as HTML (``f=html``, or a browser whose Accept prefers text/html).

The pages show what the JSON shows to the same caller, nothing more: items are the
features of :mod:`mapsvc.finder.features` (already reduced by
:mod:`mapsvc.core.visibility`), so a professional field never reaches a public page, and a
logged-in professional sees the FAX (``tel:``), e-mail (``mailto:``) and other contact fields
their JSON holds. The map is drawn by ``static/js/api_pages.js`` from a JSON data block (no inline script).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from flask import current_app, render_template, request

from mapsvc.finder.features import capability_text
from mapsvc.finder.shortlist import CONTACT_FIELDS, contact_href
from mapsvc.finder.temporal import japan_day
from mapsvc.web.mapdata import audience, page_url, provider_index


def wants_html() -> bool:
    """``f=html``, or no ``f`` and an Accept header preferring HTML over JSON (a browser;
    ``*/*`` and clients without text/html get JSON)."""
    fmt = request.args.get("f")
    if fmt:
        return fmt == "html"
    header = request.headers.get("Accept", "").lower()
    if "text/" not in header and "*" not in header:
        return False  # text/html has quality 0: no need to parse the header
    accept = request.accept_mimetypes
    json_q = max(accept["application/json"], accept["application/geo+json"])
    return accept["text/html"] > json_q


def alternate(fmt: str) -> str:
    """This URL with ``f=fmt`` (the other representation of the same resource)."""
    params = [(k, v) for k, vs in request.args.lists() if k != "f" for v in vs]
    params.append(("f", fmt))
    return f"{page_url()}?{urlencode(params)}"


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
    interval = ((doc.get("extent") or {}).get("temporal") or {}).get("interval") or [None]
    days = [japan_day(v) for v in interval[0]] if interval[0] else None
    return _render("collection.html", doc=doc, map_config=config, confirmed_days=days)


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


def _contact(props: dict[str, Any], lang: str) -> list[tuple[str, str, str | None]]:
    """The contact fields beyond the phone that these properties hold (label, value, link):
    FAX, direct line, e-mail … — only ever in a professional's features."""
    fields = provider_index().taxonomy.fields
    return [
        (fields[f].label.get(lang), str(props[f]), contact_href(f, props[f]))
        for f in CONTACT_FIELDS
        if f != "phone" and f in fields and props.get(f)
    ]


def _row(feature: dict[str, Any], lang: str) -> dict[str, Any]:
    props = feature["properties"]
    return {
        "id": feature["id"],
        "props": props,
        "offers": _capabilities(props, lang),
        "contact": _contact(props, lang),
    }


def _point(feature: dict[str, Any]) -> dict[str, Any]:
    props = feature["properties"]
    return {
        "coordinates": feature["geometry"]["coordinates"],
        "name": props.get("name") or "",
        "type_label": props.get("type_label") or "",
    }


def item_page(feature: dict[str, Any], collection: dict[str, Any], lang: str) -> str:
    config = {"basemap": _basemap(), "bbox": None, "features": [_point(feature)]}
    return _render("item.html", row=_row(feature, lang), collection=collection, map_config=config)


def items_page(
    doc: dict[str, Any],
    collection: dict[str, Any],
    parts: Sequence[bytes],
    offset: int,
    lang: str,
) -> str:
    features = [json.loads(p) for p in parts]
    rows = [_row(f, lang) for f in features]
    points = [_point(f) for f in features]
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
        csv_url=alternate("csv"),
    )
