"""The OpenAPI 3.0 description of the layer API for one audience (no Flask).

The public never sees a professional layer, capability key or field name here: collection
ids, capability keys and provider types are enumerated per audience.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mapsvc.core.layers import Layer
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.finder.features import CRS84, FORMATS
from mapsvc.finder.ogc import GEOJSON, HTML, JSON, OPENAPI


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi(
    layers: Sequence[Layer],
    taxonomy: Taxonomy,
    audience: str,
    base: str,
    *,
    default_limit: int,
    max_limit: int,
    version: str = "0.1.0",
) -> dict[str, Any]:
    """OpenAPI 3.0 description of every ``/api`` route, for one audience.

    Collection ids, capability keys and provider types are enumerated from the layer
    files and the taxonomy; the public description lists public ones only.
    """
    default_limit = min(default_limit, max_limit)
    caps = [
        k
        for k, c in taxonomy.capabilities.items()
        if c.kind != "text" and (audience != "public" or c.audience == "public")
    ]
    levels = [lv.key for lv in taxonomy.levels if lv.rank > 0]
    ids = [layer.id for layer in layers]
    if audience == "public":
        cap_help = (
            "Required capabilities, comma-separated and/or repeated, all must hold: "
            "capability keys only (no :LEVEL or :OPTION qualifier; one is refused with 400). "
            f"Keys: {', '.join(caps)}."
        )
        cap_item: dict[str, Any] = {"type": "string", "enum": caps}
    else:
        cap_help = (
            "Required capabilities, comma-separated and/or repeated, all must hold: "
            f"KEY, KEY:LEVEL (LEVEL = {', '.join(levels)}: that level or better), KEY:OPTION "
            f"for choices, KEY or KEY:yes for flags. Keys: {', '.join(caps)}."
        )
        cap_item = {"type": "string"}
    params = {
        "collectionId": {
            "name": "collectionId",
            "in": "path",
            "required": True,
            "description": "Layer id",
            "schema": {"type": "string", "enum": ids},
        },
        "featureId": {
            "name": "featureId",
            "in": "path",
            "required": True,
            "description": "Provider id (stable UUID)",
            "schema": {"type": "string"},
        },
        "bbox": {
            "name": "bbox",
            "in": "query",
            "required": False,
            "description": "minlon,minlat,maxlon,maxlat in CRS84 degrees; or six numbers "
            "minlon,minlat,minz,maxlon,maxlat,maxz (heights are ignored)",
            "style": "form",
            "explode": False,
            "schema": {
                "oneOf": [
                    {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
                    {"type": "array", "minItems": 6, "maxItems": 6, "items": {"type": "number"}},
                ]
            },
        },
        "datetime": {
            "name": "datetime",
            "in": "query",
            "required": False,
            "description": "Last confirmation (confirmed_at) of the record: an RFC 3339 "
            "instant with an offset (taken as given) or a date, which is that whole day in "
            "Japan (Asia/Tokyo, +09:00: 2026-04-01 = 2026-03-31T15:00:00Z to "
            "2026-04-01T14:59:59Z), or an interval START/END, START/.. or ../END of these "
            "(ends included). Never-confirmed records match no datetime.",
            "style": "form",
            "explode": False,
            "schema": {"type": "string"},
        },
        "bbox-crs": {
            "name": "bbox-crs",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": [CRS84]},
        },
        "limit": {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": max_limit,
                "default": default_limit,
            },
        },
        "offset": {
            "name": "offset",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 0, "default": 0},
        },
        "cap": {
            "name": "cap",
            "in": "query",
            "required": False,
            "description": cap_help,
            "style": "form",
            "explode": True,
            "schema": {"type": "array", "items": cap_item},
        },
        "type": {
            "name": "type",
            "in": "query",
            "required": False,
            "description": "Provider types (any of them)",
            "style": "form",
            "explode": False,
            "schema": {
                "type": "array",
                "items": {"type": "string", "enum": list(taxonomy.provider_types)},
            },
        },
        "f": {
            "name": "f",
            "in": "query",
            "required": False,
            "description": "geojson (json) by default; html when the Accept header prefers "
            "text/html (a browser)",
            "schema": {"type": "string", "enum": list(FORMATS), "default": "geojson"},
        },
        "f-json": {
            "name": "f",
            "in": "query",
            "required": False,
            "description": "json by default; html when the Accept header prefers text/html",
            "schema": {"type": "string", "enum": ["json", "html"], "default": "json"},
        },
        "f-item": {
            "name": "f",
            "in": "query",
            "required": False,
            "description": "geojson by default; html when the Accept header prefers text/html",
            "schema": {"type": "string", "enum": ["json", "geojson", "html"], "default": "geojson"},
        },
        "f-only-json": {
            "name": "f",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": ["json"], "default": "json"},
        },
        "zoom": {
            "name": "zoom",
            "in": "query",
            "required": True,
            "description": "Map zoom level; cells are about 64 screen pixels",
            "schema": {"type": "integer", "minimum": 0, "maximum": 22},
        },
        "lang": {
            "name": "lang",
            "in": "query",
            "required": False,
            "description": "Language of titles and labels",
            "schema": {"type": "string", "enum": ["ja", "en"], "default": "ja"},
        },
    }

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/parameters/{name}"}

    def ok(description: str, media: str, schema: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {media: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }

    errors = {
        "400": _error_response("Invalid parameter; `field` names it"),
        "404": _error_response("No such collection or item"),
    }
    json_only = [ref("f-json"), ref("lang")]
    html = {"schema": {"type": "string"}}

    def page(description: str, schema: str) -> dict[str, Any]:
        doc = ok(description, JSON, schema)
        doc["content"][HTML] = html  # f=html, or a browser's Accept
        return doc

    items_ok = ok("Features (GeoJSON)", GEOJSON, "FeatureCollection")
    items_ok["content"]["text/csv"] = {"schema": {"type": "string"}}
    items_ok["content"][HTML] = html
    item_ok = ok("Feature", GEOJSON, "Feature")
    item_ok["content"][HTML] = html
    paths = {
        "/api": {
            "get": {
                "summary": "Landing page",
                "operationId": "landing",
                "parameters": json_only,
                "responses": {"200": page("Links", "Object"), "400": errors["400"]},
            }
        },
        "/api/conformance": {
            "get": {
                "summary": "Conformance classes",
                "operationId": "conformance",
                "parameters": json_only,
                "responses": {"200": page("Conformance", "Object"), "400": errors["400"]},
            }
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This description",
                "operationId": "openapi",
                "parameters": [ref("f-only-json"), ref("lang")],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.0",
                        "content": {OPENAPI: {"schema": {"type": "object"}}},
                    },
                    "400": errors["400"],
                },
            }
        },
        "/api/collections": {
            "get": {
                "summary": "Map layers",
                "operationId": "collections",
                "parameters": json_only,
                "responses": {"200": page("Collections", "Object"), "400": errors["400"]},
            }
        },
        "/api/collections/{collectionId}": {
            "get": {
                "summary": "One map layer",
                "operationId": "collection",
                "parameters": [ref("collectionId"), *json_only],
                "responses": {"200": page("Collection", "Object"), **errors},
            }
        },
        "/api/collections/{collectionId}/items": {
            "get": {
                "summary": "Providers of a layer",
                "description": "Active providers in the layer, filtered by bbox, datetime (last confirmation) and capabilities; paged with limit/offset and `next` links. Anonymous callers get public fields only.",
                "operationId": "items",
                "parameters": [
                    ref("collectionId"),
                    ref("bbox"),
                    ref("bbox-crs"),
                    ref("datetime"),
                    ref("limit"),
                    ref("offset"),
                    ref("cap"),
                    ref("type"),
                    ref("f"),
                    ref("lang"),
                ],
                "responses": {"200": items_ok, **errors},
            }
        },
        "/api/collections/{collectionId}/items/{featureId}": {
            "get": {
                "summary": "One provider",
                "operationId": "item",
                "parameters": [ref("collectionId"), ref("featureId"), ref("f-item"), ref("lang")],
                "responses": {"200": item_ok, **errors},
            }
        },
        "/api/collections/{collectionId}/clusters": {
            "get": {
                "summary": "Provider counts per map cell (for low zoom levels)",
                "operationId": "clusters",
                "parameters": [
                    ref("collectionId"),
                    ref("bbox"),
                    ref("zoom"),
                    ref("cap"),
                    ref("type"),
                    ref("lang"),
                ],
                "responses": {
                    "200": ok("Cells with counts (GeoJSON points)", GEOJSON, "FeatureCollection"),
                    **errors,
                },
            }
        },
    }
    schemas = {
        "Object": {"type": "object"},
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string", "description": "The parameter at fault"},
            },
        },
        "Feature": {
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"type": "string"},
                "geometry": {"type": "object"},
                "properties": {"type": "object"},
            },
        },
        "FeatureCollection": {
            "type": "object",
            "required": ["type", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
                "numberMatched": {"type": "integer"},
                "numberReturned": {"type": "integer"},
                "links": {"type": "array", "items": {"type": "object"}},
            },
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "在宅医療・介護資源マップ API (mapsvc)",
            "version": version,
            "description": "OGC API - Features style map layers of home medical and care providers. "
            + (
                "Public view: public fields and capabilities only."
                if audience == "public"
                else "Professional view."
            ),
        },
        "servers": [{"url": base or "/"}],
        "paths": paths,
        "components": {"parameters": params, "schemas": schemas},
    }
