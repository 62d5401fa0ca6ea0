"""An index folder built from the previous one and the changed providers only (issue 13:
the first request after an edit) equals a full build of the same store, file for file."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from search_support import BASE_LAT, BASE_LON, add_providers
from test_index_file import _same

from mapsvc.core.models import Area
from mapsvc.core.registry import Change, apply_changes, diff, existing_by_uid
from mapsvc.finder import answers, index_build, index_delta
from mapsvc.finder.answers import answers_of
from mapsvc.finder.index import INDEX_KINDS
from mapsvc.finder.index_build import load_index as full_load
from mapsvc.finder.index_file import file_index, read_index, write_index
from mapsvc.finder.index_records import read_rows


def _square(lon: float, lat: float, d: float) -> dict[str, Any]:
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _edit(services: Any, uid: str, **fields: Any) -> None:
    """Change one provider through the registry, as the review and the importer do."""
    with services.store.session() as session:
        current = existing_by_uid(session, [uid])[uid]
        before, after = diff(current, fields)
        change = Change(current["id"], uid, before, after, current)
        apply_changes(session, [change], actor="test", action="test.edit")


def _store(services: Any) -> list[str]:
    """Twenty-four providers of every kind the index distinguishes, and one area."""
    with services.store.session() as session:
        session.add(
            Area(
                kind="municipality",
                code="372013",
                name="高松市",
                geometry=_square(BASE_LON, BASE_LAT, 0.05),
                properties={},
            )
        )
    rows: list[dict[str, Any]] = []
    for i in range(24):
        row: dict[str, Any] = {
            "source_id": f"p{i:02d}",
            "lon": BASE_LON + 0.002 * i,
            "lat": BASE_LAT + 0.001 * (i % 5),
            "type": ("clinic", "home_nursing", "pharmacy")[i % 3],
            "capabilities": {"home_visit_medical": {"level": ("accept", "consult", "no")[i % 3]}},
        }
        if i % 4 == 1:
            row["service_area"] = {"kind": "radius", "km": 3 + i}
        if i % 6 == 2:
            row["service_area"] = {"kind": "codes", "codes": ["372013"]}
        if i == 7:
            row["service_area"] = {"kind": "codes", "codes": ["999999"]}  # unresolved: a problem
        if i == 9:
            row["service_area"] = {"kind": "polygon", "geometry": _square(BASE_LON, BASE_LAT, 0.01)}
        if i % 5 == 3:
            row["confirmed_at"] = datetime(2026, 5, 1 + i, 9, 30)
            row["phone"] = f"087-000-{i:04d}"
            row["confirmed_by"] = "確認者"
        if i % 8 == 4:
            row["public"] = False
        if i in (5, 17):  # not geocoded yet: not in the index
            row.update(lon=None, lat=None, geocode_status="pending")
        rows.append(row)
    return add_providers(services, *rows)


def _files(folder: Path) -> dict[str, bytes]:
    """Every file but the meta, the per-row blobs (compared row by row: an incremental
    build may append changed rows to the previous blob) and the shared answers (compared
    answer by answer: an incremental build numbers them in the previous folder's table)."""
    blobs = json.loads((folder / "meta.json").read_text(encoding="utf-8"))["row_blobs"]
    skip = {"meta.json", "answers.json", "answer_ids.npy"}
    skip |= {f"{b}{ext}" for b in blobs for ext in (".bin", ".npy", ".ends.npy")}
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name not in skip}


def _rows(folder: Path, name: str) -> list[bytes]:
    blob, starts, ends = read_rows(folder, name)
    return [blob[s:e] if e > s else b"" for s, e in zip(starts, ends, strict=True)]


def _answers(folder: Path) -> list[list[str]]:
    """Each row's answer to each capability as the folder's codes and table give it
    (the provider's own text where the code says unshared), as JSON text."""
    codes = np.load(folder / "answer_ids.npy").tolist()
    table = json.loads((folder / "answers.json").read_text(encoding="utf-8"))
    keys = json.loads((folder / "meta.json").read_text(encoding="utf-8"))["cap_keys"]
    texts = _rows(folder, "capabilities")
    out = []
    for row, text in zip(codes, texts, strict=True):
        caps = json.loads(text) if text else {}
        assert all(c >= answers.UNSHARED for c in row)
        out.append(
            [
                json.dumps(caps.get(k) if c == answers.UNSHARED else None if c < 0 else t[c])
                for c, t, k in zip(row, table, keys, strict=True)
            ]
        )
    return out


def _meta(folder: Path) -> dict[str, Any]:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    meta.pop("built_at")
    return meta  # type: ignore[no-any-return]


def _full(services: Any, tmp_path: Path) -> Path:
    base = services.store.generations(*INDEX_KINDS)
    built = full_load(services)  # not counted
    return write_index(built, tmp_path / f"full-{built.generation}", base=base)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Full builds made (load_index calls); every change share is incremental."""
    monkeypatch.setattr(index_delta, "MAX_SHARE", 1.0)
    builds: list[int] = []
    real = index_build.load_index
    monkeypatch.setattr(index_build, "load_index", lambda s: builds.append(1) or real(s))
    return builds


def _check_same_as_full(services: Any, tmp_path: Path, builds: list[int], full_before: int) -> Any:
    index = file_index(services)
    assert len(builds) == full_before, "the change was built in full, not incrementally"
    folder = Path(services.instance_path) / "index"
    (current,) = [f for f in folder.glob("providers-*") if (f / "meta.json").exists()]
    assert current.name.endswith(f"-{services.store.generation(*INDEX_KINDS)}")
    full = _full(services, tmp_path)
    files, expected = _files(current), _files(full)
    assert sorted(files) == sorted(expected)
    for name in expected:
        assert files[name] == expected[name], name
    assert _meta(current) == _meta(full)
    for name in _meta(full)["row_blobs"]:
        assert _rows(current, name) == _rows(full, name), name
    assert _answers(current) == _answers(full)
    _same(read_index(full, services.taxonomy), index, answer_codes=False)
    # every answer as the provider stored it, also read with the incremental folder's codes
    everyone = list(range(len(index)))
    stored = [tuple(index.capabilities(p).get(k) for k in index.cap_keys) for p in everyone]
    assert answers_of(index, everyone, index.cap_keys) == stored
    names = ("name", "phone", "public", "capabilities", "confirmed_at")
    assert index.pick_many(everyone[::-1], names) == [index.pick(p, names) for p in everyone[::-1]]
    return index


def test_edits_additions_removals_and_unpublishing_equal_a_full_build(services, tmp_path, counted):
    uids = _store(services)
    first = file_index(services)
    assert len(counted) == 1 and len(first) == 22
    _edit(services, uids[0], name="新しい名前", phone="087-111-2222")
    _edit(services, uids[1], capabilities={"home_visit_medical": {"level": "no"}})
    _edit(services, uids[4], public=False)  # unpublished
    _edit(services, uids[8], public=True)  # published again
    _edit(services, uids[3], lon=None, lat=None)  # lost its place: leaves the index
    _edit(services, uids[5], lon=BASE_LON + 0.03, lat=BASE_LAT)  # geocoded: enters mid-way
    _edit(services, uids[6], status="closed")
    _edit(
        services,
        uids[10],
        service_area={"kind": "polygon", "geometry": _square(BASE_LON, BASE_LAT, 0.02)},
    )
    _edit(services, uids[9], service_area=None)  # its polygon goes
    _edit(services, uids[7], service_area={"kind": "radius", "km": 2})  # its problem goes
    _edit(services, uids[11], service_area={"kind": "codes", "codes": ["888888"]})  # a new one
    _edit(services, uids[13], confirmed_at=datetime(2026, 11, 30, 8, 0), confirmed_by="x")
    new = add_providers(
        services,
        {"source_id": "q1", "lon": BASE_LON - 0.01, "type": "pharmacy"},
        {
            "source_id": "q2",
            "lon": BASE_LON + 0.05,
            "service_area": {"kind": "travel_time", "minutes": 12},
        },
    )
    index = _check_same_as_full(services, tmp_path, counted, 1)
    assert len(index) == 22 - 1 + 1 + 2
    assert index.position(uids[3]) is None and index.position(uids[5]) is not None
    assert index.record(index.position(uids[0]))["name"] == "新しい名前"
    assert not index.view_for("public").active[index.position(uids[4])]
    assert index.position(new[1]) is not None
    # and again from the incremental folder: removals only
    _edit(services, uids[12], lon=None, lat=None)
    again = _check_same_as_full(services, tmp_path, counted, 1)
    assert len(again) == len(index) - 1


def test_nothing_but_a_new_provider_and_the_answers_follow(services, tmp_path, counted):
    uids = _store(services)
    file_index(services)
    add_providers(services, {"source_id": "zz", "lon": BASE_LON + 0.001, "lat": BASE_LAT})
    index = _check_same_as_full(services, tmp_path, counted, 1)
    assert index.position(uids[0]) is not None and len(index) == 23
    box = (BASE_LON + 0.0005, BASE_LAT - 0.0005, BASE_LON + 0.0015, BASE_LAT + 0.0005)
    assert index.uids[index.in_bbox(box)].tolist() == [
        u for u in index.uids.tolist() if u not in uids
    ]


def test_many_changes_or_new_areas_build_in_full(services, tmp_path, monkeypatch):
    uids = _store(services)
    builds: list[int] = []
    real = index_build.load_index
    monkeypatch.setattr(index_build, "load_index", lambda s: builds.append(1) or real(s))
    file_index(services)
    _edit(services, uids[0], name="一件目")
    _edit(services, uids[1], name="二件目")  # 2 of 22 changed: above the 5 % share
    file_index(services)
    assert len(builds) == 2
    monkeypatch.setattr(index_delta, "MAX_SHARE", 1.0)
    with services.store.session() as session:  # code areas may resolve differently now
        session.add(
            Area(
                kind="municipality",
                code="888888",
                name="別の市",
                geometry=_square(BASE_LON, BASE_LAT, 0.2),
                properties={},
            )
        )
        from mapsvc.core.db import bump_generation

        bump_generation(session, "areas")
    _edit(services, uids[1], name="もう一件")
    _check_same_as_full(services, tmp_path, builds, 3)


def test_a_change_of_layout_builds_in_full(services, tmp_path, counted):
    """The first e-mail address in the store: the column was kept as an empty flag
    column, and now holds text (every record changes)."""
    uids = _store(services)
    file_index(services)
    _edit(services, uids[0], email="a@example.jp")
    index = file_index(services)
    assert len(counted) == 2
    assert index.record(index.position(uids[0]))["email"] == "a@example.jp"
    _edit(services, uids[1], email="b@example.jp")  # same layout now: incremental again
    _check_same_as_full(services, tmp_path, counted, 2)


def test_folders_of_other_stores_or_formats_are_not_started_from(sqlite_services, counted):
    services = sqlite_services
    uids = _store(services)
    file_index(services)
    directory = Path(services.instance_path) / "index"
    (folder,) = directory.glob("providers-*")
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    meta["format"] = 2
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    _edit(services, uids[0], name="別")
    assert (
        index_delta._previous(
            directory.glob("providers-*"), services.store.generations(*INDEX_KINDS)
        )
        is None
    )
    index = file_index(services)
    assert len(counted) == 2 and index.record(index.position(uids[0]))["name"] == "別"
    assert np.asarray(index.lon).size == 22


def test_a_change_made_around_the_registry_builds_in_full(services, tmp_path, counted):
    """A direct UPDATE with a bump of the counter (as some set-ups do) records no change:
    the folder cannot know what changed, so the whole store is read again."""
    from sqlalchemy import update

    from mapsvc.core.db import bump_generation
    from mapsvc.core.models import Provider

    uids = _store(services)
    file_index(services)
    _edit(services, uids[1], name="記録された変更")
    with services.store.session() as session:
        session.execute(update(Provider).where(Provider.uid == uids[0]).values(public=False))
        bump_generation(session)
    index = file_index(services)
    assert len(counted) == 2
    assert not index.view_for("public").active[index.position(uids[0])]
    assert index.record(index.position(uids[1]))["name"] == "記録された変更"
    _edit(services, uids[2], name="また記録された")  # recorded again: incremental
    _check_same_as_full(services, tmp_path, counted, 2)


def test_an_edit_links_what_it_does_not_change_and_appends_the_changed_record(
    services, tmp_path, counted
):
    uids = _store(services)
    file_index(services)
    directory = Path(services.instance_path) / "index"
    (first,) = directory.glob("providers-*")
    inodes = {p.name: p.stat().st_ino for p in first.iterdir()}
    _edit(services, uids[0], name="名前だけ")
    _check_same_as_full(services, tmp_path, counted, 1)
    (second,) = directory.glob("providers-*")
    same = {p.name for p in second.iterdir() if inodes.get(p.name) == p.stat().st_ino}
    # the coordinates, the sort by longitude, the ids and the capabilities are the same files
    assert {"lon.npy", "lon_order.npy", "ids.npy", "caps.npy", "uids.txt"} <= same
    assert {"records.bin", "capabilities.bin"} <= same  # appended to, not copied
    assert (second / "records.ends.npy").exists() and "records.npy" not in same
    # once a quarter of a blob would be dead bytes, it is rewritten in row order
    appended = []
    for i in range(15):
        _edit(services, uids[i % 3], name=f"何度も{i}" + "長" * 290)
        file_index(services)
        (folder,) = directory.glob("providers-*")
        appended.append((folder / "records.ends.npy").exists())
        live = sum(len(r) for r in _rows(folder, "records"))
        assert (folder / "records.bin").stat().st_size <= live / (1 - index_delta.MAX_DEAD)
    assert True in appended and False in appended
    _check_same_as_full(services, tmp_path, counted, 1)


def test_new_answers_join_the_shared_ones_and_beyond_the_table_are_read_from_the_text(
    services, tmp_path, counted, monkeypatch
):
    """An answer no provider gave before is added to the previous folder's shared answers
    (an answer that is already there keeps its number); once a capability's table is
    full, the new answer is read from the provider's own text. Either way every provider
    has the answers it stored, as in a full build."""
    uids = _store(services)
    file_index(services)
    directory = Path(services.instance_path) / "index"
    (first,) = directory.glob("providers-*")
    table = json.loads((first / "answers.json").read_text(encoding="utf-8"))
    noted = {"home_visit_medical": {"level": "accept", "note": "平日のみ"}}
    _edit(services, uids[0], capabilities=noted)
    _edit(services, uids[1], capabilities={"home_visit_medical": {"level": "accept"}})
    index = _check_same_as_full(services, tmp_path, counted, 1)
    (second,) = directory.glob("providers-*")
    grown = json.loads((second / "answers.json").read_text(encoding="utf-8"))
    col = index.cap_keys.index("home_visit_medical")
    assert grown[col] == [*table[col], noted["home_visit_medical"]]
    codes = np.asarray(index.answer_ids)[:, col]
    assert codes[index.position(uids[1])] == table[col].index({"level": "accept"})
    # the table is full: the next new answer is not shared, and still the provider's own
    monkeypatch.setattr(answers, "MAX_SHARED", len(grown[col]))
    other = {"home_visit_medical": {"level": "consult", "note": "要相談"}}
    _edit(services, uids[2], capabilities=other)
    index = _check_same_as_full(services, tmp_path, counted, 1)
    assert index.answer_ids[index.position(uids[2]), col] == answers.UNSHARED
    assert answers_of(index, [index.position(uids[2])], ["home_visit_medical"]) == [
        (other["home_visit_medical"],)
    ]
