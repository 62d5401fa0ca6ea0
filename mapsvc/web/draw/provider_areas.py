"""A provider's explicit service area, drawn or picked by an editor, and the small maps
the survey form and the review queue show it on."""

from __future__ import annotations

import json
from typing import Any

from flask import jsonify, render_template, url_for
from markupsafe import Markup

from mapsvc.core.registry import get_provider, provider_record
from mapsvc.geo.provider_area import (
    check_service_area,
    pickable_areas,
    service_area_geojson,
    set_service_area,
)
from mapsvc.web.auth import role_required
from mapsvc.web.context import services
from mapsvc.web.draw._common import actor, basemap, bp, json_body
from mapsvc.web.i18n import get_lang

editor_only = role_required("editor")


@bp.route("/admin/providers/<uid>/service-area")
@editor_only
def provider_area(uid: str) -> str:
    """Draw a provider's service area, or pick it from areas on the map."""
    with services().store.session() as session:
        provider = get_provider(session, uid)
        record = provider_record(provider)
        current = record.get("service_area")
        config = {
            "basemap": basemap(),
            "lang": get_lang(),
            "save": url_for("draw.provider_area_save", uid=uid),
            "provider": {"name": provider.name, "lon": provider.lon, "lat": provider.lat},
            "current": current,
            "current_shape": service_area_geojson(session, current),
            "pickable": pickable_areas(session, provider.municipality_code),
        }
        type_label = services().taxonomy.provider_types[provider.type].label.get(get_lang())
        return render_template(
            "draw/provider_area.html",
            provider=provider,
            type_label=type_label,
            map_config=config,
        )


@bp.route("/admin/providers/<uid>/service-area/api/save", methods=["POST"])
@editor_only
def provider_area_save(uid: str) -> Any:
    """Store the drawn polygon or picked codes (``{"service_area": …}``; null = default)."""
    body = json_body()
    with services().store.session() as session:
        area = check_service_area(session, body.get("service_area"))
        changed = set_service_area(session, uid, area, actor=actor())
        shape = service_area_geojson(session, area)
    return jsonify({"changed": changed, "service_area": area, "shape": shape})


@bp.app_template_global("service_area_shape_json")
def service_area_shape_json(area: Any) -> Markup:
    """An explicit service area as GeoJSON text for a ``data-*`` attribute (``null`` if none)."""
    with services().store.session() as session:
        shape = service_area_geojson(session, area)
    return Markup.escape(json.dumps(shape))  # escaped: safe inside an attribute


@bp.app_template_global("pickable_areas_json")
def pickable_areas_json(municipality_code: str | None) -> Markup:
    """Areas a provider can pick its service area from, as GeoJSON text (survey form)."""
    with services().store.session() as session:
        data = pickable_areas(session, municipality_code)
    return Markup.escape(json.dumps(data, ensure_ascii=False))
