"""Benchmark: the items endpoint in-process (Flask test client), per request, on a store.

The URLs are the ``--boxes`` densest 0.05° × 0.045° cells (≈ 5 km × 5 km; cells aligned
on multiples of the cell size) of the layer's active providers, ``limit=200``: the
same boxes the HTTP load tests send (``scripts/load_items.py``, ``scripts/load_items_wrk.lua``).
Each pass asks every box once, anonymously (public) and logged in (professional: a
user ``bench-pro`` is added to the store when missing); ``/api/conformance`` (same app
and middleware, no index work) is the baseline in the same run.

    python scripts/bench_items.py --store sqlite:////tmp/items300k/mapsvc.sqlite
        [--passes 20] [--profile public] [--dump DIR] [--urls http://127.0.0.1:8731]

``--urls BASE`` only prints the box URLs under BASE, one a line (for the HTTP clients);
``--dump DIR`` writes every response (status, the headers other than Date, a cookie's name
only, the body with its ``timeStamp`` blanked) to DIR, so two versions can be compared byte for byte
(``diff -r``); ``--profile AUDIENCE`` prints the cProfile of one audience's passes.

Prints figures, then as its LAST line JSON with the median CPU ms per request of each
audience and of the baseline (the Flask test client included), and their ratios.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import re
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

CELL = (0.05, 0.045)
STAMP = re.compile(rb'"timeStamp":"[^"]*"')


def dense_paths(app: Any, layer_id: str, boxes: int, limit: int) -> list[str]:
    """Paths of the ``boxes`` densest cells of the layer (most providers first)."""
    from mapsvc.core.filters import layer_filters
    from mapsvc.web.mapdata import all_layers, provider_index

    with app.test_request_context("/"):
        layer = next(x for x in all_layers() if x.id == layer_id)
        index = provider_index()
        pos = np.flatnonzero(index.filter_mask(layer_filters(layer)))
        col = np.floor(np.asarray(index.lon)[pos] / CELL[0]).astype(np.int64)
        row = np.floor(np.asarray(index.lat)[pos] / CELL[1]).astype(np.int64)
    cells, counts = np.unique(np.column_stack([col, row]), axis=0, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:boxes]
    paths = []
    for c, r in cells[order].tolist():
        box = (c * CELL[0], r * CELL[1], (c + 1) * CELL[0], (r + 1) * CELL[1])
        bbox = ",".join(f"{v:.3f}" for v in box)
        paths.append(f"/api/collections/{layer_id}/items?bbox={bbox}&limit={limit}")
    return paths


def professional_client(app: Any) -> Any:
    """A test client logged in as a professional (the user is added when missing)."""
    from sqlalchemy import select

    from mapsvc.core.models import User
    from mapsvc.core.users import add_user
    from mapsvc.web.context import services

    password = "bench items password"
    with app.app_context():
        store = services().store
        with store.session() as session:
            if session.scalar(select(User).where(User.username == "bench-pro")) is None:
                add_user(session, "bench-pro", password, "professional", actor="bench")
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no csrf_token on /login"
    data = {"username": "bench-pro", "password": password, "csrf_token": match.group(1)}
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.status_code
    return client


def timed(client: Any, paths: list[str], passes: int) -> list[float]:
    """CPU milliseconds (this process) per request of each pass over ``paths``: on a
    shared machine the CPU time varies less than the wall clock."""
    out = []
    for _ in range(passes):
        t0 = time.process_time()
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            response.get_data()
        out.append((time.process_time() - t0) * 1000.0 / len(paths))
    return out


def dump(client: Any, paths: list[str], folder: Path, audience: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k, path in enumerate(paths):
        response = client.get(path)
        # Date and the session cookie's signature change from second to second
        headers = "".join(
            f"{n}: {v.split('=')[0] if n == 'Set-Cookie' else v}\n"
            for n, v in response.headers
            if n != "Date"
        )
        body = STAMP.sub(b'"timeStamp":""', response.get_data())
        text = f"{response.status_code}\n{headers}\n".encode() + body
        (folder / f"{audience}-{k:02d}.txt").write_bytes(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", required=True, help="store URL (sqlite:////path/mapsvc.sqlite)")
    parser.add_argument("--layer", default="medical")
    parser.add_argument("--boxes", type=int, default=26)
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--urls", metavar="BASE", help="only print the box URLs under BASE")
    parser.add_argument("--dump", type=Path, help="write every response to this folder")
    parser.add_argument("--profile", choices=("public", "professional"))
    parser.add_argument("--sort", default="cumulative", help="cProfile order (e.g. tottime)")
    args = parser.parse_args()

    from mapsvc import create_app

    folder = str(Path(args.store.removeprefix("sqlite:///")).parent)
    app = create_app(
        {"DATABASE_URL": args.store, "INSTANCE_PATH": folder, "SECRET_KEY": "bench-items"}
    )
    started = time.perf_counter()
    paths = dense_paths(app, args.layer, args.boxes, args.limit)
    if args.urls:
        print("\n".join(args.urls.rstrip("/") + p for p in paths))
        return
    print(f"{len(paths)} boxes of layer {args.layer} ({time.perf_counter() - started:.1f} s)")
    clients = {"public": app.test_client(), "professional": professional_client(app)}
    if args.dump:
        for audience, client in clients.items():
            dump(client, paths, args.dump, audience)
        print(f"responses written to {args.dump}")
    for client in clients.values():  # first pass fills each worker cache: not counted
        timed(client, paths, 1)
    base_paths = ["/api/conformance?f=json"] * len(paths)
    figures: dict[str, float] = {}
    for name, client, urls in (
        ("baseline", clients["public"], base_paths),
        ("public", clients["public"], paths),
        ("professional", clients["professional"], paths),
    ):
        if args.profile == name:
            profiler = cProfile.Profile()
            profiler.enable()
            runs = timed(client, urls, args.passes)
            profiler.disable()
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(45)
        else:
            runs = timed(client, urls, args.passes)
        figures[name] = statistics.median(runs)
        spread = (min(runs), max(runs))
        print(
            f"{name:12s}: median {figures[name]:.3f} ms CPU per request over {args.passes} "
            f"passes (min {spread[0]:.3f}, max {spread[1]:.3f}) → {1000 / figures[name]:.0f} "
            "req/s per core"
        )
    result = {k: round(v, 3) for k, v in figures.items()}
    for name in ("public", "professional"):
        result[f"{name}_vs_baseline"] = round(figures[name] / figures["baseline"], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
