"""What the map, API and finder views share: the index, the layers, the caller's audience,
the road network, and the page's base URL. No routes here."""

from __future__ import annotations

import os
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from flask import current_app, request
from werkzeug.sansio.utils import get_current_url

from mapsvc.core.errors import NotFound
from mapsvc.core.layers import Layer, load_layers
from mapsvc.core.visibility import audience_for_role
from mapsvc.finder.index import ProviderIndex, shared_index
from mapsvc.geo._road_index import RoadIndex
from mapsvc.planner.inputs import road_index as planner_road_index
from mapsvc.web.auth import current_role
from mapsvc.web.context import services
from mapsvc.web.i18n import t

_LAYERS: dict[str, list[Layer]] = {}
_LAYERS_LOCK = threading.Lock()


def provider_index() -> ProviderIndex:
    """The process's provider index as the caller may see it, refreshed when the store
    changes: non-public providers are never in a public output (``ProviderIndex.view_for``)."""
    index = shared_index(services(), float(current_app.config.get("INDEX_REFRESH_SECONDS", 2.0)))
    return index.view_for(audience())


def all_layers() -> list[Layer]:
    """Every layer definition (validated once per process)."""
    # an absolute folder is also kept under its configured text: resolving the path costs
    # a system call per folder level, on every request of the items endpoint
    configured = str(current_app.config["LAYERS_DIR"])
    hit = _LAYERS.get(configured)
    if hit is not None:
        return hit
    folder = str(Path(configured).resolve())
    with _LAYERS_LOCK:
        if folder not in _LAYERS:
            _LAYERS[folder] = load_layers(folder, services().taxonomy)
        if os.path.isabs(configured):
            _LAYERS[configured] = _LAYERS[folder]
        return _LAYERS[folder]


def audience() -> str:
    """``public`` for anonymous callers, ``professional`` for every logged-in role."""
    return audience_for_role(current_role())


def visible_layers() -> list[Layer]:
    aud = audience()
    return [layer for layer in all_layers() if layer.visible_to(aud)]


def layer_or_404(layer_id: str) -> Layer:
    """The layer, if the caller may see it; unknown and hidden layers are both 404."""
    for layer in visible_layers():
        if layer.id == layer_id:
            return layer
    raise NotFound("no such collection; see /api/collections", field="collectionId")


# per store object (two apps on in-memory stores share a URL, never a store)
_ROADS: weakref.WeakKeyDictionary[Any, tuple[float, int, RoadIndex | None]] = (
    weakref.WeakKeyDictionary()
)
_ROADS_LOCK = threading.Lock()


def road_index() -> RoadIndex | None:
    """The active road network in the form travel-time checks need, or None.

    Kept per store and networks generation, checked at most every
    ``INDEX_REFRESH_SECONDS`` (as the provider index): a finder request then reads no
    network row from the store (activating a network bumps the networks generation)."""
    store = services().store
    refresh_s = float(current_app.config.get("INDEX_REFRESH_SECONDS", 2.0))
    now = time.monotonic()
    with _ROADS_LOCK:
        hit = _ROADS.get(store)
    if hit is not None and now - hit[0] < refresh_s:
        return hit[2]
    generation = store.generation("networks")
    if hit is not None and hit[1] == generation:
        with _ROADS_LOCK:
            _ROADS[store] = (now, generation, hit[2])
        return hit[2]
    value = planner_road_index(services())
    with _ROADS_LOCK:
        _ROADS[store] = (now, generation, value)
    return value


# werkzeug's get_current_url (request.host_url, request.base_url) converts the URL to an
# IRI on every request; the same inputs give the same text, so it is kept (bounded)
_URLS: dict[tuple[str, str, str | None, str | None], str] = {}


def _current_url(root_path: str | None = None, path: str | None = None) -> str:
    key = (request.scheme, request.host, root_path, path)
    url = _URLS.get(key)
    if url is None:
        if len(_URLS) >= 1024:
            _URLS.clear()
        url = _URLS[key] = get_current_url(*key)
    return url


def base_url() -> str:
    """``request.host_url`` without its slash, then the script root."""
    return _current_url().rstrip("/") + request.script_root


def page_url() -> str:
    """``request.base_url``: this page's URL without the query string."""
    return _current_url(request.root_path, request.path)


def is_demo() -> bool:
    """Is the store the synthetic demo municipality (banner on every map page)?"""
    from mapsvc.demo import is_demo_store

    def check() -> bool:
        with services().store.session() as session:
            return bool(is_demo_store(session))

    return bool(provider_index().memo("is_demo", check))


def taxonomy_labels(lang: str, aud: str) -> dict[str, Any]:
    """Labels the map scripts need, for one audience (public: public capabilities only)."""
    tax = services().taxonomy
    return {
        "types": {k: t.label.get(lang) for k, t in tax.provider_types.items()},
        "capabilities": {
            k: c.label.get(lang)
            for k, c in tax.capabilities.items()
            if aud != "public" or c.audience == "public"
        },
    }


def map_texts() -> dict[str, Any]:
    """Words the map scripts show, in the page's language ({n} and {layer} are filled in)."""
    return {
        "lastConfirmed": t("最終確認日", "Last confirmed"),
        "noInfo": t("情報なし", "no information"),
        "colContact": t("所在地・電話", "Address and phone"),
        "colOffers": t("対応", "Offers"),
        "never": t("記録なし", "never"),
        "website": t("ホームページ", "Website"),
        "providers": t("件", "providers"),
        "loading": t("読み込み中…", "Loading…"),
        "failed": t(
            "事業所の情報を読み込めませんでした。再読み込みしてください。",
            "Could not load the providers; please reload.",
        ),
        "shown": t("表示範囲に {n} 件", "{n} in view"),
        "listCount": t("表示範囲に {n} 件。", "{n} in the visible area."),
        "listTruncated": t(
            "地図の中心に近い {n} 件を表示しています。", "Showing the {n} nearest the map centre."
        ),
        "zoomIn": t(
            "{layer}：{n} 件（地図を拡大すると一覧に出ます）。",
            "{layer}: {n} (zoom in to list them).",
        ),
        "searched": t("検索した地点", "Searched place"),
        # the geography drawn without tiles (MapsvcMap.areaLayers)
        "areaKinds": {
            "municipality": t("市区町村の境界", "Municipal boundary"),
            "daily_life_area": t("日常生活圏域", "Daily life areas"),
            "secondary_medical_area": t("二次医療圏", "Secondary medical areas"),
            "town": t("町丁・字", "Towns (chō, aza)"),
        },
        "areasDrawn": t(
            "代わりに{kinds}を線で表示しています。", " Drawn instead: {kinds} as lines."
        ),
        "listSep": t("、", ", "),
        # what the public map's tile note says of the providers (public_map.js)
        "providersDrawn": t("事業所の位置は表示されています。", " Providers are still shown."),
        "providersNone": t(
            "表示する種類をすべて外しているため、事業所は表示していません。",
            " No provider is shown: every provider type is unticked.",
        ),
        "providersEmpty": t(
            "表示範囲に該当する事業所はありません。", " No provider in view matches."
        ),
        "providersFailed": t(
            "事業所の情報は読み込めていません。", " The providers could not be loaded."
        ),
        "areasControl": t("境界の表示", "Boundaries shown"),
        "patient": t("指定した地点", "Chosen place"),
        "pointChosen": t(
            "地図上の地点を指定しました。「この条件で探す」を押してください。",
            "Place chosen on the map. Press Search.",
        ),
    }


def start_points(index: ProviderIndex) -> dict[str, Any] | None:
    """Every active provider as ``[lon, lat, type number]`` for a map before any search
    (None above ``MAP_ITEMS_LIMIT``: the map then shows no dots and says so)."""
    import numpy as np

    positions = np.flatnonzero(index.active)
    if len(positions) > int(current_app.config["MAP_ITEMS_LIMIT"]):
        return None
    lang_types = list(index.type_keys)
    points = [
        [round(float(index.lon[p]), 5), round(float(index.lat[p]), 5), int(index.type_code[p])]
        for p in positions.tolist()
    ]
    return {"types": lang_types, "points": points}
