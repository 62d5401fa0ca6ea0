"""The layer API (``/api``), OGC API - Features style, so QGIS can add a layer by URL.

Thin views: parse, call :mod:`mapsvc.finder.features` / :mod:`mapsvc.finder.ogc`, wrap. The caller's
role decides the fields (anonymous = public). Errors are JSON (``mapsvc.web.errors``). The
landing page, conformance, collections, a collection and its items are also HTML pages
for people (``f=html`` or a browser's Accept; :mod:`mapsvc.web.api_pages`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote_plus

import numpy as np
from flask import Blueprint, Response, current_app, request

from mapsvc import __version__
from mapsvc.core.errors import InvalidInput, NotFound
from mapsvc.core.filters import layer_filters, parse_filters
from mapsvc.core.models import utcnow
from mapsvc.finder import features, finder_api, ogc, ogc_openapi, temporal
from mapsvc.web import api_pages
from mapsvc.web.api_pages import wants_html
from mapsvc.web.i18n import get_lang
from mapsvc.web.mapdata import (
    audience,
    base_url,
    layer_or_404,
    page_url,
    provider_index,
    visible_layers,
)

bp = Blueprint("api", __name__)
_JSON_PARAMS = ("f", "lang")
HTML_LIMIT = 100


def _json(doc: Any, mimetype: str = ogc.JSON, status: int = 200) -> Response:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return _cached(Response(body, status=status, mimetype=mimetype))


def _html(text: str) -> Response:
    return _cached(Response(text, mimetype=ogc.HTML))


def _cached(response: Response, aud: str | None = None) -> Response:
    # content depends on the login (and the format on Accept): shared caches may keep
    # only anonymous answers, per Accept
    response.headers["Vary"] = "Cookie, Accept"
    if (aud or audience()) == "public":
        response.headers["Cache-Control"] = "public, max-age=30"
    else:
        response.headers["Cache-Control"] = "private, no-store"
    return response


def _json_only_args(html: bool = False) -> None:
    args = request.args.to_dict(flat=False)
    features.check_known(args, _JSON_PARAMS)
    allowed = ("json", "html") if html else ("json",)
    if len(args.get("f") or []) > 1:
        raise InvalidInput("f: give it once", field="f")
    if request.args.get("f") not in (None, "", *allowed):
        raise InvalidInput(f"f: this endpoint answers {' or '.join(allowed)}", field="f")


@bp.get("")
@bp.get("/")
def landing() -> Response:
    """Landing page: links to the description, conformance and collections."""
    _json_only_args(html=True)
    doc = ogc.landing(base_url(), get_lang())
    if wants_html():
        return _html(api_pages.landing_page(doc, ogc.conformance()))
    return _json(doc)


@bp.get("/conformance")
def conformance() -> Response:
    _json_only_args(html=True)
    if wants_html():
        return _html(api_pages.conformance_page(ogc.conformance()))
    return _json(ogc.conformance())


@bp.get("/openapi.json")
def openapi() -> Response:
    """OpenAPI 3.0 description of every /api route, for the caller's audience."""
    _json_only_args()
    cfg = current_app.config
    doc = ogc_openapi.openapi(
        visible_layers(),
        provider_index().taxonomy,
        audience(),
        base_url(),
        default_limit=int(cfg["ITEMS_DEFAULT_LIMIT"]),
        max_limit=int(cfg["ITEMS_MAX_LIMIT"]),
        version=__version__,
    )
    if audience() != "public":  # the JSON finder is for professionals only
        doc["paths"].update(finder_api.openapi_paths(provider_index().taxonomy))
        doc["components"].setdefault("securitySchemes", {}).update(finder_api.SECURITY_SCHEMES)
    return _json(doc, ogc.OPENAPI)


@bp.get("/collections")
def collections() -> Response:
    """Map layers the caller may see."""
    _json_only_args(html=True)
    layers = visible_layers()
    index = provider_index()
    extents: dict[str, Sequence[float] | None] = {
        layer.id: index.extent(layer_filters(layer)) for layer in layers
    }
    intervals = {layer.id: _interval(layer) for layer in layers}
    doc = ogc.collections(layers, base_url(), get_lang(), extents, intervals)
    if wants_html():
        return _html(api_pages.collections_page(doc))
    return _json(doc)


def _interval(layer: Any) -> list[str] | None:
    """First and last confirmation of the layer's active providers (temporal extent), kept
    per index and layer like the spatial extent."""
    index = provider_index()
    filters = layer_filters(layer)

    def build() -> tuple[str, ...] | None:
        found = temporal.temporal_extent(index, features.select(index, filters, None))
        return None if found is None else tuple(found)

    value = index.memo(f"interval:{filters!r}", build)
    return None if value is None else list(value)


def _collection_doc(layer: Any) -> dict[str, Any]:
    extent = provider_index().extent(layer_filters(layer))
    return ogc.collection(layer, base_url(), get_lang(), extent, _interval(layer))


@bp.get("/collections/<layer_id>")
def collection(layer_id: str) -> Response:
    _json_only_args(html=True)
    doc = _collection_doc(layer_or_404(layer_id))
    if wants_html():
        return _html(api_pages.collection_page(doc))
    return _json(doc)


def _page_links(
    layer_id: str, matched: int, offset: int, limit: int, fmt: str
) -> list[dict[str, Any]]:
    base = base_url()
    href = f"{base}/api/collections/{layer_id}/items"
    # each parameter URL-encoded once (as urlencode does) for the links that keep it
    encoded = [
        (k, f"{quote_plus(k)}={quote_plus(v)}") for k, vs in request.args.lists() for v in vs
    ]
    kept = [pair for k, pair in encoded if k != "offset"]
    mime = {"csv": "text/csv", "html": ogc.HTML}.get(fmt, ogc.GEOJSON)

    def url(new_offset: int | None) -> str:
        params = kept + ([f"offset={new_offset}"] if new_offset else [])
        return f"{href}?{'&'.join(params)}" if params else href

    # api_pages.alternate("html"), from the pairs encoded above
    alternate = "&".join([pair for k, pair in encoded if k != "f"] + ["f=html"])
    links = [
        {"href": url(offset), "rel": "self", "type": mime, "title": "this page"},
        {
            "href": f"{page_url()}?{alternate}",
            "rel": "alternate",
            "type": ogc.HTML,
            "title": "HTML",
        },
        {
            "href": f"{base}/api/collections/{layer_id}",
            "rel": "collection",
            "type": ogc.JSON,
            "title": "the layer",
        },
    ]
    if offset + limit < matched:
        links.append(
            {"href": url(offset + limit), "rel": "next", "type": mime, "title": "next page"}
        )
    if offset > 0:
        links.append(
            {
                "href": url(max(0, offset - limit)),
                "rel": "prev",
                "type": mime,
                "title": "previous page",
            }
        )
    return links


@bp.get("/collections/<layer_id>/items")
def items(layer_id: str) -> Response:
    """Providers of a layer in a bbox and period, filtered, paged (GeoJSON, CSV or HTML)."""
    layer = layer_or_404(layer_id)
    index = provider_index()
    aud = audience()
    cfg = current_app.config
    args = request.args.to_dict(flat=False)
    html = wants_html()
    if html and not args.get("f"):
        args["f"] = ["html"]
    default_limit = int(cfg["ITEMS_DEFAULT_LIMIT"])
    query = features.parse_items_query(
        args,
        index.taxonomy,
        aud,
        # a page for people lists fewer rows than a download by default
        default_limit=min(default_limit, HTML_LIMIT) if html else default_limit,
        max_limit=int(cfg["ITEMS_MAX_LIMIT"]),
    )
    filters = layer_filters(layer).narrowed(query.filters)
    positions = features.select(index, filters, query.bbox, query.period)
    page = positions[query.offset : query.offset + query.limit]
    now = utcnow()
    lang = get_lang()
    if query.format == "csv":
        body = features.csv_bytes(index, page, aud, lang, cfg, now)
        response = Response(body, mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{layer.id}.csv"'
        return _cached(response, aud)
    links = _page_links(layer.id, len(positions), query.offset, query.limit, query.format)
    parts = features.features(index, page, aud, lang, cfg, now)
    body = features.feature_collection(parts, len(positions), links, now)
    if query.format == "html":
        doc = json.loads(body)
        page_html = api_pages.items_page(doc, _collection_doc(layer), parts, query.offset, lang)
        return _html(page_html)
    return _cached(Response(body, mimetype=ogc.GEOJSON), aud)


@bp.get("/collections/<layer_id>/items/<uid>")
def item(layer_id: str, uid: str) -> Response:
    """One provider of a layer (GeoJSON, or its HTML page)."""
    args = request.args.to_dict(flat=False)
    features.check_known(args, ("f", "lang"))
    if len(args.get("f") or []) > 1:
        raise InvalidInput("f: give it once", field="f")
    if request.args.get("f") not in (None, "", "json", "geojson", "html"):
        raise InvalidInput("f: this endpoint answers geojson or html", field="f")
    layer = layer_or_404(layer_id)
    index = provider_index()
    pos = index.position(uid)
    if pos is None or not index.filter_mask(layer_filters(layer))[pos]:
        raise NotFound("no such item in this collection", field="featureId")
    now = utcnow()
    feature = json.loads(
        features.features(index, np.array([pos]), audience(), get_lang(), current_app.config, now)[
            0
        ]
    )
    feature["links"] = [
        {
            "href": f"{base_url()}/api/collections/{layer.id}/items/{uid}",
            "rel": "self",
            "type": ogc.GEOJSON,
            "title": "this provider",
        },
        {
            "href": f"{base_url()}/api/collections/{layer.id}",
            "rel": "collection",
            "type": ogc.JSON,
            "title": "the layer",
        },
        {
            "href": api_pages.alternate("html"),
            "rel": "alternate",
            "type": ogc.HTML,
            "title": "HTML",
        },
    ]
    if wants_html():
        return _html(api_pages.item_page(feature, _collection_doc(layer), get_lang()))
    return _json(feature, ogc.GEOJSON)


@bp.get("/collections/<layer_id>/clusters")
def clusters(layer_id: str) -> Response:
    """Counts per map cell, for low zoom levels (the map stays usable with 300k providers)."""
    layer = layer_or_404(layer_id)
    args = request.args.to_dict(flat=False)
    features.check_known(args, ("bbox", "zoom", "cap", "type", "lang"))
    index = provider_index()
    bbox = features.parse_bbox(request.args.get("bbox")) or (-180.0, -90.0, 180.0, 90.0)
    zoom = features.parse_int(request.args.get("zoom"), "zoom", 0, 22)
    mine = parse_filters(args.get("cap"), args.get("type"), index.taxonomy, audience())
    positions = features.select(index, layer_filters(layer).narrowed(mine), bbox)
    cells = features.grid_cells(index, positions, zoom)
    doc = {
        "type": "FeatureCollection",
        "numberMatched": int(len(positions)),
        "numberReturned": len(cells),
        "features": cells,
    }
    return _json(doc, ogc.GEOJSON)
