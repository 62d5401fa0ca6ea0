"""The public map (``/``) for residents and families: no login, public fields only.

The map page draws the layers from ``/api`` for the visible area (the scripts in
``static/js``). An address search (POST, so the address never sits in a URL or a log)
lists nearby providers by distance and names the 地域包括支援センター for the address.
``/print`` is a printable list of what the map shows. ``/areas.geojson`` is the
geography both maps draw without tiles (:mod:`mapsvc.geo.public_areas`).
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from werkzeug.wrappers import Response

from mapsvc.core.errors import InvalidInput, MapsvcError
from mapsvc.core.filters import FilterSet, layer_filters, parse_filters
from mapsvc.core.layers import Layer
from mapsvc.core.models import utcnow
from mapsvc.finder.features import feature_properties, parse_bbox, select
from mapsvc.finder.locate import check_address, locate_address, support_centre
from mapsvc.finder.search import nearby_providers
from mapsvc.geo.geocode import search_chain
from mapsvc.web.context import services
from mapsvc.web.i18n import get_lang, t
from mapsvc.web.mapdata import all_layers, is_demo, map_texts, provider_index, taxonomy_labels

bp = Blueprint("public", __name__)

# The public filters of the map (DESIGN.md section 1): 訪問診療, 看取り, 24時間対応.
PUBLIC_FILTERS = ("home_visit_medical", "home_death_care", "response_24h")
NEARBY_LIMIT = 20
PRINT_LIMIT = 1000
AREAS_MAX_AGE = 300  # seconds a browser may reuse the geography without asking
_AREAS_LOCK = threading.Lock()


def _public_layers() -> list[Layer]:
    """The layers of the public map (a logged-in visitor sees the same map)."""
    return [layer for layer in all_layers() if layer.visible_to("public")]


def _public_types() -> tuple[str, ...]:
    """Provider types the public layers show (the address search lists only these)."""
    return tuple(sorted({t for layer in _public_layers() for t in layer.provider_types}))


def _chosen_layers(source: Any) -> list[Layer]:
    """Layers picked in a form or query (repeated ``layer``; ``sel=1`` marks a choice
    was made, so an empty choice shows nothing); by default the default-visible ones."""
    layers = _public_layers()
    wanted = [v for v in source.getlist("layer") if v]
    if not wanted and not source.get("sel"):
        return [layer for layer in layers if layer.default_visible]
    unknown = set(wanted) - {layer.id for layer in layers}
    if unknown:
        raise InvalidInput("layer: unknown layer; see /api/collections", field="layer")
    return [layer for layer in layers if layer.id in wanted]


def _chosen_filters(values: list[str]) -> FilterSet:
    caps = [v for v in values if v]
    for cap in caps:
        if cap not in PUBLIC_FILTERS:
            raise InvalidInput(f"cap: expected one of {', '.join(PUBLIC_FILTERS)}", field="cap")
    return parse_filters(caps, None, provider_index().taxonomy, "public")


def _map_config(
    layers: list[Layer], filters: FilterSet, search: dict[str, Any] | None
) -> dict[str, Any]:
    lang = get_lang()
    index = provider_index()
    cfg = current_app.config
    return {
        "lang": lang,
        "basemap": {"url": cfg["BASEMAP_URL"], "attribution": cfg["BASEMAP_ATTRIBUTION"]},
        "layers": [
            {
                "id": layer.id,
                "title": layer.title.get(lang),
                "color": layer.style.get("color", "#0b5cad"),
            }
            for layer in _public_layers()
        ],
        "visible": [layer.id for layer in layers],
        "filters": filters.specs(),
        "limit": int(cfg["MAP_ITEMS_LIMIT"]),
        # the site may be mounted under a path: the script takes its URLs from here
        "urls": {
            "collections": url_for("api.collections"),
            "print": url_for("public.print_list"),
            "areas": url_for("public.areas_geojson"),
        },
        "extent": index.extent(FilterSet(types=_public_types())),
        # the first view: the municipality outline (the providers' extent without areas)
        "frame": _public_areas()["frame"],
        "search": search,
        "labels": taxonomy_labels(lang, "public"),
        "texts": map_texts(),
    }


def _search_result(address: str) -> dict[str, Any]:
    """Locate the address, the centre for it and the nearest providers (public fields)."""
    index = provider_index()
    svc = services()
    chain = search_chain(current_app.config, svc.store.sessions)
    located = locate_address(address, chain, index)
    if located is None:
        return {"found": False}
    lang = get_lang()
    now = utcnow()
    cfg = current_app.config
    filters = _chosen_filters(request.form.getlist("cap"))
    near = nearby_providers(
        index,
        located.lon,
        located.lat,
        FilterSet(filters.capabilities, _public_types()),
        limit=NEARBY_LIMIT,
    )
    centre = support_centre(index, located.lon, located.lat)
    rows = []
    for n in near:
        props = feature_properties(index, n.pos, "public", lang, cfg, now)
        props["distance_km"] = n.distance_km
        props["lon"], props["lat"] = float(index.lon[n.pos]), float(index.lat[n.pos])
        rows.append(props)
    centre_props = None
    if centre.pos is not None:
        centre_props = feature_properties(index, centre.pos, "public", lang, cfg, now)
        centre_props["lon"], centre_props["lat"] = (
            float(index.lon[centre.pos]),
            float(index.lat[centre.pos]),
        )
    return {
        "found": True,
        "lon": located.lon,
        "lat": located.lat,
        "precision": located.precision,
        "matched": located.matched,
        "nearby": rows,
        "centre": centre_props,
        "centre_area": centre.area_name,
        "centre_how": centre.how,
        "centre_note": centre.note.get(lang) if centre.note else None,
    }


@bp.route("/", methods=["GET", "POST"])
def index() -> Any:
    """The public map, with an address search (POST)."""
    status = 200
    search = None
    error = None
    address = ""
    if request.method == "POST":
        try:
            address = check_address(request.form.get("address"))
            search = _search_result(address)
            if not search["found"]:
                error = t(
                    "住所が見つかりませんでした。町名・丁目まで入力してください（例：〇〇町一丁目）。",
                    "The address was not found. Enter it down to the town and chōme (e.g. 〇〇町一丁目).",
                )
                search = None
        except MapsvcError as exc:
            if exc.field not in ("address", "cap"):
                raise
            error = (
                t(
                    "住所を入力してください（200文字まで）。",
                    "Enter an address (up to 200 characters).",
                )
                if exc.field == "address"
                else exc.message
            )
            status = 400
        layers = _chosen_layers(request.form)
        filters = _chosen_filters(request.form.getlist("cap")) if status == 200 else FilterSet()
    else:
        layers = _chosen_layers(request.args)
        filters = _chosen_filters(request.args.getlist("cap"))
    config = _map_config(layers, filters, search)
    html = render_template(
        "public/map.html",
        map_config=config,
        layers=_public_layers(),
        chosen={layer.id for layer in layers},
        public_filters=PUBLIC_FILTERS,
        chosen_filters=set(filters.specs()),
        search=search,
        error=error,
        address=address,
        demo=is_demo(),
    )
    response = Response(html, status=status, mimetype="text/html")
    if request.method == "POST":
        response.headers["Cache-Control"] = "no-store"  # the page holds a typed address
    return response


@bp.get("/print")
def print_list() -> Any:
    """Printable list of the providers the map shows (layers, filters, visible area)."""
    index = provider_index()
    layers = _chosen_layers(request.args)
    filters = _chosen_filters(request.args.getlist("cap"))
    bbox = parse_bbox(request.args.get("bbox"))
    lang = get_lang()
    now = utcnow()
    groups = []
    total = 0
    for layer in layers:
        positions = select(index, layer_filters(layer).narrowed(filters), bbox)
        total += len(positions)
        rows = [
            feature_properties(index, int(p), "public", lang, current_app.config, now)
            for p in positions[:PRINT_LIMIT]
        ]
        rows.sort(key=lambda r: r.get("kana") or r.get("name") or "")
        groups.append({"layer": layer, "rows": rows, "count": len(positions)})
    return render_template(
        "public/print.html",
        groups=groups,
        total=total,
        limit=PRINT_LIMIT,
        description=filters.describe(index.taxonomy, lang),
        bbox=bbox,
        demo=is_demo(),
        printed=now,
    )


def _public_areas() -> dict[str, Any]:
    """The public geography as sent (``body``, ``etag``) and its ``frame`` (the bounds a map
    opens on), built once per change of the stored areas."""
    store = services().store
    generation = store.generation("areas")
    cache = current_app.extensions.setdefault("mapsvc_public_areas", {})
    with _AREAS_LOCK:
        if cache.get("generation") != generation:
            from mapsvc.geo.public_areas import as_bytes, frame, public_areas

            with store.session() as session:
                doc = public_areas(session)
            body = as_bytes(doc)
            cache.update(
                generation=generation,
                body=body,
                etag=hashlib.sha256(body).hexdigest()[:32],
                frame=frame(doc),
            )
        return dict(cache)


@bp.get("/areas.geojson")
def areas_geojson() -> Response:
    """The municipality outline, 二次医療圏 parts, 日常生活圏域 and towns for both maps
    (public fields only), built once per change of the stored areas; ETag and ``max-age``
    so a map page reload asks again cheaply or not at all."""
    areas = _public_areas()
    body, etag = areas["body"], areas["etag"]
    response = Response(body, mimetype="application/geo+json")
    response.set_etag(etag)
    # the same for every caller; security.py leaves it cacheable for logged-in users too
    response.headers["Cache-Control"] = f"public, max-age={AREAS_MAX_AGE}"
    return response.make_conditional(request)
