"""Publication state (issue 14 item 7): a `public` flag mapped from 公開/非公開 (publish 1/0)
that every public output honours, and professionals who still see non-public providers when
the source says so."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import login_as, make_app
from import_support import records, run_import
from sqlalchemy import update
from test_public_crawl import Crawl

from mapsvc.core.db import bump_generation
from mapsvc.core.models import Provider
from mapsvc.core.publication import publication
from mapsvc.geo.areas import areas_frame

pytest_plugins = ["demo_support"]


def test_publication_values() -> None:
    assert publication("公開") == {"public": True, "professional_visible": True}
    assert publication("1") == publication("ｔｒｕｅ") == publication("○") == publication("公開")
    assert publication("非公開") == {"public": False, "professional_visible": False}
    assert publication("0") == publication("×") == publication("非公開")
    assert publication("関係者のみ") == {"public": False, "professional_visible": True}
    assert publication("0", "1") == {"public": False, "professional_visible": True}
    assert publication("") == {}
    with pytest.raises(ValueError, match="公開/非公開"):
        publication("たぶん")


def test_mapping_public_column_and_empty_cells_leave_it_alone(sqlite_services, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        "source_id,type,name,address,lat,lon,public\n"
        "a,clinic,公開診療所,香川県高松市,34.34,134.05,公開\n"
        "b,clinic,非公開診療所,香川県高松市,34.34,134.05,非公開\n"
        "c,clinic,関係者診療所,香川県高松市,34.34,134.05,関係者のみ\n"
        "d,clinic,不正診療所,香川県高松市,34.34,134.05,たぶん\n",
        encoding="utf-8",
    )
    report = run_import(sqlite_services, path, tmp_path)
    assert (report.inserted, report.rejected) == (3, 1)
    got = {k: (r["public"], r["professional_visible"]) for k, r in records(sqlite_services).items()}
    assert got == {"a": (True, True), "b": (False, False), "c": (False, True)}
    # an empty cell never changes the stored state
    path.write_text(
        "source_id,type,name,address,lat,lon,public\nb,clinic,非公開診療所,香川県高松市,34.34,134.05,\n",
        encoding="utf-8",
    )
    run_import(sqlite_services, path, tmp_path)
    assert records(sqlite_services)["b"]["public"] is False


def _public_uids(client: Any) -> dict[str, str]:
    """uid -> layer of every provider the anonymous API lists."""
    out: dict[str, str] = {}
    for col in json.loads(client.get("/api/collections").get_data())["collections"]:
        doc = json.loads(client.get(f"/api/collections/{col['id']}/items?limit=10000").get_data())
        for feature in doc["features"]:
            out.setdefault(feature["id"], col["id"])
    return out


def test_non_public_providers_appear_in_no_public_output(demo_services):
    app = make_app(demo_services)
    client = app.test_client()
    before = _public_uids(client)
    chosen = sorted(before)[::40][:24]
    hidden, pro_only = chosen[::2], chosen[1::2]
    with demo_services.store.session() as session:
        session.execute(
            update(Provider)
            .where(Provider.uid.in_(hidden))
            .values(public=False, professional_visible=False)
        )
        session.execute(
            update(Provider)
            .where(Provider.uid.in_(pro_only))
            .values(public=False, professional_visible=True)
        )
        names = dict(session.query(Provider.uid, Provider.name).all())
        bump_generation(session)
    others = {n for u, n in names.items() if u not in chosen}
    secret = set(chosen) | {
        names[u] for u in chosen if not any(names[u] in o for o in others) and len(names[u]) >= 4
    }
    assert len(secret) > len(chosen)  # names are checked too
    app.config["INDEX_REFRESH_SECONDS"] = 0.0
    crawl = Crawl(client, set(), secret)
    for url in ("/", "/?lang=en", "/print", "/print?sel=1&layer=medical&cap=home_visit_medical"):
        crawl.get(url)
    collections = json.loads(crawl.get("/api/collections"))["collections"]
    for col in collections:
        crawl.get(f"/api/collections/{col['id']}")
        for zoom in (8, 12, 15):
            crawl.get(f"/api/collections/{col['id']}/clusters?zoom={zoom}")
        crawl.get(f"/api/collections/{col['id']}/items?f=csv&limit=10000")
        crawl.get(f"/api/collections/{col['id']}/items?limit=10000")
        crawl.get(f"/api/collections/{col['id']}/items?limit=10000&lang=en")
    for uid in chosen:  # even by id, the API knows no such item
        response = client.get(f"/api/collections/{before[uid]}/items/{uid}")
        assert response.status_code == 404
        response.close()
    from conftest import csrf_token

    with demo_services.store.session() as session:
        towns = [
            r["properties"]["towns"][0]
            for _, r in areas_frame(session, "daily_life_area").iterrows()
        ]
    for town in towns:
        token = csrf_token(client, "/")
        crawl.check(
            f"POST / {town}",
            client.post("/", data={"csrf_token": token, "address": f"デモ市{town}"}),
        )
    assert not set(chosen) & set(_public_uids(client))

    # professionals: the sources' choice decides
    pro = app.test_client()
    login_as(pro, demo_services, "professional")
    seen = _public_uids(pro)
    assert set(pro_only) <= set(seen)
    assert not set(hidden) & set(seen)
