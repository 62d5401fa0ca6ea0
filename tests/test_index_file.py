"""The provider index as a file of plain arrays (issue 13): written once per generation,
mapped read-only by every worker, and answering exactly as the index built in memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from search_support import BASE_LAT, BASE_LON, add_providers

from mapsvc.core.filters import FilterSet, parse_filters
from mapsvc.finder import index_build, index_file
from mapsvc.finder.answers import answers_of
from mapsvc.finder.index import ARRAYS_FOR_TESTS, _plain, load_index
from mapsvc.finder.index_file import file_index, read_index, write_index
from mapsvc.finder.search import find_providers

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["demo_support"]  # demo_services


def _same(a, b, *, answer_codes: bool = True) -> None:
    """``answer_codes`` False: the shared answers may be numbered differently (an
    incremental build extends the previous table); each provider's answers the same."""
    assert len(a) == len(b) and a.generation == b.generation
    assert a.uids.tolist() == b.uids.tolist()
    for name in ARRAYS_FOR_TESTS:
        if name == "answer_ids" and not answer_codes:
            everyone = list(range(len(a)))
            left, right = (answers_of(x, everyone, x.cap_keys) for x in (a, b))
            assert [repr(v) for v in left] == [repr(v) for v in right]
            continue
        left, right = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        assert left.dtype == right.dtype and np.array_equal(left, right, equal_nan=True), name
    assert (a.type_keys, a.cap_keys, a.crs) == (b.type_keys, b.cap_keys, b.crs)
    assert a.area_names == b.area_names and a.problems == b.problems
    assert [g.wkb for g in a.polygons] == [g.wkb for g in b.polygons]
    for pos in range(len(a)):
        assert a.record(pos) == b.record(pos)
        # Python values, never numpy scalars (numpy's False is not `is False`)
        assert [type(v) for v in a.record(pos).values()] == [
            type(v) for v in b.record(pos).values()
        ]
        assert not any(isinstance(v, np.generic) for v in b.record(pos).values())
        assert a.capabilities(pos) == b.capabilities(pos)
    assert list(a.columns) == list(b.columns)
    assert list(a.columns["address"]) == list(b.columns["address"])
    for name in ("public", "professional_visible", "confirmed_at"):
        if name in a.columns:
            assert [_plain(v) for v in a.columns[name]] == list(b.columns[name]), name
    for audience in ("public", "professional"):
        assert np.array_equal(a.view_for(audience).active, b.view_for(audience).active)


def test_the_mapped_demo_index_answers_as_the_built_one(demo_services, tmp_path):
    built = load_index(demo_services)
    folder = write_index(built, tmp_path / "idx")
    mapped = read_index(folder, demo_services.taxonomy)
    _same(built, mapped)
    # read-only views of the mapped files (not copies)
    assert isinstance(mapped.lon.base, np.memmap) and not mapped.lon.flags.writeable
    assert built.areas is not None and mapped.areas is not None
    assert list(built.areas.columns) == list(mapped.areas.columns)
    assert built.areas.geometry.geom_equals_exact(mapped.areas.geometry, 0).all()
    assert list(built.areas.dtypes) == list(mapped.areas.dtypes)
    plain = [c for c in built.areas.columns if c != "geometry"]

    def rows(frame):
        return [[_plain(v) for v in row] for row in frame[plain].itertuples(index=False)]

    assert rows(built.areas) == rows(mapped.areas)
    west, south, east, north = built.extent()
    box = (west, south, (west + east) / 2, (south + north) / 2)
    assert built.point_tree is not None and mapped.point_tree is None  # sorted longitudes
    lon0, lat0 = float(built.lon[5]), float(built.lat[5])
    corners = (lon0, lat0, lon0 + 0.02, lat0 + 0.02)  # a provider exactly on the corner
    reversed_ = (east, north, (west + east) / 2, (south + north) / 2)
    for b in (box, corners, reversed_, (0.0, 0.0, 1.0, 1.0), (west, south, east, north)):
        assert built.in_bbox(b).tolist() == mapped.in_bbox(b).tolist()
    assert 5 in mapped.in_bbox(corners).tolist()
    assert np.array_equal(mapped.nearest_tree().data, np.asarray(built.xy))
    filters = parse_filters(["home_visit_medical:accept"], None, demo_services.taxonomy)
    rng = np.random.default_rng(3)
    for pos in rng.choice(len(built), 8, replace=False):
        lon, lat = float(built.lon[pos]) + 0.01, float(built.lat[pos]) - 0.01
        for f in (FilterSet(), filters):
            one = find_providers(built, lon, lat, f, seed=11)
            two = find_providers(mapped, lon, lat, f, seed=11)
            assert [(m.uid, m.distance_km) for m in one.matches] == [
                (m.uid, m.distance_km) for m in two.matches
            ]
            assert [m.reasons for m in one.matches] == [m.reasons for m in two.matches]


def test_built_once_per_generation_and_replaced_after_a_change(sqlite_services, monkeypatch):
    services = sqlite_services
    add_providers(services, {"source_id": "a"}, {"source_id": "b", "lon": BASE_LON + 0.01})
    builds = []
    real = index_build.load_index
    monkeypatch.setattr(index_build, "load_index", lambda s: builds.append(1) or real(s))
    first = file_index(services)
    again = file_index(services)  # another worker: maps the same folder, builds nothing
    assert len(builds) == 1 and len(first) == len(again) == 2
    folders = sorted((services.instance_path / "index").glob("providers-*"))
    assert len(folders) == 1 and (folders[0] / "meta.json").exists()
    add_providers(services, {"source_id": "c", "lat": BASE_LAT + 0.01})
    third = file_index(services)
    assert len(builds) == 2 and len(third) == 3 and third.generation > first.generation
    assert first.record(0) == third.record(0)  # the old mapping stays readable
    folders = sorted((services.instance_path / "index").glob("providers-*"))
    assert [f.name for f in folders] == [
        f"providers-{index_file.index_key(services)}-{third.generation}"
    ]


def test_a_half_written_index_is_never_read(sqlite_services, monkeypatch):
    services = sqlite_services
    add_providers(services, {"source_id": "a"})

    def broken(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(index_file, "write_blob", broken)
    with pytest.raises(OSError, match="disk full"):
        file_index(services)
    left = [p.name for p in (services.instance_path / "index").iterdir()]
    assert [n for n in left if not n.endswith(".lock")] == []  # no folder, no temporary
    monkeypatch.undo()
    assert len(file_index(services)) == 1


def test_two_processes_share_one_build(sqlite_services):
    services = sqlite_services
    add_providers(services, {"source_id": "a"}, {"source_id": "b", "lon": BASE_LON + 0.02})
    code = (
        "import json, sys\n"
        "from mapsvc.core.services import Services\n"
        "from mapsvc.finder import index_build\n"
        "from mapsvc.finder.index_file import file_index\n"
        "calls = []\n"
        "real = index_build.load_index\n"
        "index_build.load_index = lambda s: calls.append(1) or real(s)\n"
        "s = Services.from_config(json.loads(sys.argv[1]))\n"
        "idx = file_index(s)\n"
        "print(json.dumps({'n': len(idx), 'built': len(calls), 'uids': idx.uids.tolist()}))\n"
    )
    config = json.dumps(
        {
            "INSTANCE_PATH": str(services.instance_path),
            "DATABASE_URL": services.config["DATABASE_URL"],
            "LAYERS_DIR": services.config["LAYERS_DIR"],
        }
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, config],
            stdout=subprocess.PIPE,
            text=True,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        for _ in range(2)
    ]
    outs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert [o["n"] for o in outs] == [2, 2]
    assert sorted(o["built"] for o in outs) == [0, 1]  # one built it, the other mapped it
    assert outs[0]["uids"] == outs[1]["uids"]


def test_a_worker_with_an_index_never_waits_for_a_build(sqlite_services, monkeypatch):
    """After a change, a worker that has the previous index keeps answering from it while
    the new generation is built in the background (or by another process)."""
    import threading

    from mapsvc.finder.index import IndexHolder
    from mapsvc.finder.index_file import IndexBusy, _try_lock, _unlock

    services = sqlite_services
    add_providers(services, {"source_id": "a"})
    holder = IndexHolder(lambda s: file_index(s, wait=holder._index is None))
    first = holder.get(services, refresh_s=0)
    assert len(first) == 1
    add_providers(services, {"source_id": "b", "lon": BASE_LON + 0.01})

    # another process is building: answer from the previous index, build nothing here
    directory = services.instance_path / "index"
    other = _try_lock(directory / f".providers-{index_file.index_key(services)}.lock", True)
    try:
        with pytest.raises(IndexBusy):
            file_index(services, wait=False)
        assert holder.get(services, refresh_s=0) is first
    finally:
        _unlock(other)

    # nobody is: this process builds in a background thread, and answers meanwhile
    gate = threading.Event()
    real = index_build.load_index

    def slow(s):
        gate.wait(60)
        return real(s)

    monkeypatch.setattr(index_build, "load_index", slow)
    assert holder.get(services, refresh_s=0) is first
    assert holder.get(services, refresh_s=0) is first  # still building: no second build
    gate.set()
    index_file._BUILDING[index_file.index_key(services)].join(60)
    second = holder.get(services, refresh_s=0)
    assert len(second) == 2 and second.generation > first.generation


def test_picking_many_records_at_once_gives_what_picking_each_gives(demo_services, tmp_path):
    built = load_index(demo_services)
    mapped = read_index(write_index(built, tmp_path / "idx"), demo_services.taxonomy)
    names = ("name", "type", "address", "phone", "public", "capabilities", "confirmed_at")
    positions = list(range(len(built)))[::-1]
    for index in (built, mapped):
        many = index.pick_many(positions, names)
        assert many == [built.pick(pos, names) for pos in positions]
        assert any(row["confirmed_at"] is not None for row in many)
        assert [{k: type(v) for k, v in row.items()} for row in many] == [
            {k: type(v) for k, v in built.pick(pos, names).items()} for pos in positions
        ]
    assert mapped.pick_many([], names) == []
