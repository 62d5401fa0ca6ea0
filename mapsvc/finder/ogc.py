"""OGC API - Features documents (landing page, conformance, collections), generated from
the layer definitions for one audience; the OpenAPI description is
:mod:`mapsvc.finder.ogc_openapi`.

The public never sees a professional layer here: the collections are built per audience.
Plain values in, plain dicts out; the web layer adds the HTTP envelope (and the HTML page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mapsvc.core.layers import Layer
from mapsvc.finder.features import CRS84
from mapsvc.finder.temporal import TRS

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"


def landing(base: str, lang: str) -> dict[str, Any]:
    """The API's landing page (``/api``)."""
    return {
        "title": "在宅医療・介護資源マップ API" if lang != "en" else "Home care resource map API",
        "description": (
            "在宅医療・介護の資源（医療機関・薬局・訪問看護・介護事業所・地域包括支援センター）を地図レイヤーとして提供します（OGC API - Features 形式）。"
            if lang != "en"
            else "Home medical and long-term care resources as map layers (OGC API - Features)."
        ),
        "links": [
            {"href": f"{base}/api", "rel": "self", "type": JSON, "title": "this document"},
            {"href": f"{base}/api?f=html", "rel": "alternate", "type": HTML, "title": "HTML"},
            {
                "href": f"{base}/api/openapi.json",
                "rel": "service-desc",
                "type": OPENAPI,
                "title": "the API definition",
            },
            {
                "href": f"{base}/api/conformance",
                "rel": "conformance",
                "type": JSON,
                "title": "conformance classes",
            },
            {
                "href": f"{base}/api/collections",
                "rel": "data",
                "type": JSON,
                "title": "map layers",
            },
        ],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": list(CONFORMANCE)}


def collection(
    layer: Layer,
    base: str,
    lang: str,
    extent: Sequence[float] | None,
    interval: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One collection (map layer) with its links, spatial extent and temporal extent
    (``interval``: first and last confirmation, :func:`mapsvc.finder.temporal.temporal_extent`)."""
    href = f"{base}/api/collections/{layer.id}"
    doc: dict[str, Any] = {
        "id": layer.id,
        "title": layer.title.get(lang),
        "description": layer.description.get(lang) or layer.title.get(lang),
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            {"href": href, "rel": "self", "type": JSON, "title": layer.title.get(lang)},
            {"href": f"{href}?f=html", "rel": "alternate", "type": HTML, "title": "HTML"},
            {"href": f"{href}/items", "rel": "items", "type": GEOJSON, "title": "GeoJSON"},
            {"href": f"{href}/items?f=csv", "rel": "items", "type": "text/csv", "title": "CSV"},
            {"href": f"{href}/items?f=html", "rel": "items", "type": HTML, "title": "HTML"},
        ],
        "style": dict(layer.style),
        "default_visible": layer.default_visible,
    }
    extents: dict[str, Any] = {}
    if extent is not None:
        extents["spatial"] = {"bbox": [list(extent)], "crs": CRS84}
    if interval is not None:
        # the temporal property is the last confirmation (confirmed_at), see temporal.py
        extents["temporal"] = {"interval": [list(interval)], "trs": TRS}
    if extents:
        doc["extent"] = extents
    return doc


def collections(
    layers: Sequence[Layer],
    base: str,
    lang: str,
    extents: dict[str, Sequence[float] | None],
    intervals: Mapping[str, Sequence[str] | None] | None = None,
) -> dict[str, Any]:
    intervals = intervals or {}
    href = f"{base}/api/collections"
    return {
        "links": [
            {"href": href, "rel": "self", "type": JSON, "title": "collections"},
            {"href": f"{href}?f=html", "rel": "alternate", "type": HTML, "title": "HTML"},
        ],
        "collections": [
            collection(layer, base, lang, extents.get(layer.id), intervals.get(layer.id))
            for layer in layers
        ],
    }
