"""Patient addresses stay home (issue 9, item 4): an address the offline gazetteer misses
causes no outbound request unless GEOCODE_SEARCH_ONLINE is on, and then one request within
a 2 s budget (no retries), however slow the geocoder."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conftest import csrf_token, login_as, make_app

from mapsvc.core.config import load_config
from mapsvc.geo.geocode import search_chain

pytest_plugins = ["demo_support"]
UNMATCHED = "デモ市存在しない町九丁目9番9号"


class _Counting(BaseHTTPRequestHandler):
    hits: list[str] = []
    delay = 0.0

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        type(self).hits.append(self.path)
        time.sleep(type(self).delay)
        data = b"[]"
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def geocoder_url() -> Any:
    _Counting.hits, _Counting.delay = [], 0.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/address-search/AddressSearch"
    server.shutdown()
    server.server_close()


def _searches(app, services) -> list[int]:
    public = app.test_client()
    r1 = public.post("/", data={"csrf_token": csrf_token(public, "/"), "address": UNMATCHED})
    pro = app.test_client()
    login_as(pro, services, "professional")
    r2 = pro.post(
        "/pro/search", data={"csrf_token": csrf_token(pro, "/pro/"), "address": UNMATCHED}
    )
    return [r1.status_code, r2.status_code]


def test_online_geocoding_of_searches_is_off_by_default():
    assert load_config({}, environ={})["GEOCODE_SEARCH_ONLINE"] is False
    cfg = load_config({"GEOCODERS": "cache,gazetteer,gsi"}, environ={})
    assert "gsi" not in search_chain(cfg).names


def test_an_unmatched_address_causes_no_outbound_request(demo_services, geocoder_url):
    app = make_app(demo_services, GEOCODERS="cache,gazetteer,gsi", GSI_GEOCODER_URL=geocoder_url)
    assert _searches(app, demo_services)[1] == 400  # the finder: not found
    assert _Counting.hits == []


def test_when_turned_on_a_slow_geocoder_gets_one_try_within_the_budget(demo_services, geocoder_url):
    _Counting.delay = 6.0
    app = make_app(
        demo_services,
        GEOCODERS="cache,gazetteer,gsi",
        GSI_GEOCODER_URL=geocoder_url,
        GEOCODE_SEARCH_ONLINE=True,
        GEOCODER_TIMEOUT=15.0,
    )
    client = app.test_client()
    token = csrf_token(client, "/")
    start = time.monotonic()
    r = client.post("/", data={"csrf_token": token, "address": UNMATCHED})
    took = time.monotonic() - start
    assert "住所が見つかりませんでした" in r.get_data(as_text=True)
    assert len(_Counting.hits) == 1  # one try, no retries
    assert took < 4.0, took  # 2 s budget (plus the page)
