"""The grid a mapped index answers small bbox queries from (issue 13, items endpoint):
exactly the providers a scan finds, edges included, positions ascending."""

from __future__ import annotations

import numpy as np

from mapsvc.finder.bbox_grid import CELL, MAX_ROWS, BoxGrid


def _scan(lon, lat, west, south, east, north) -> list[int]:
    inside = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    return np.flatnonzero(inside).tolist()


def _points(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(139.0, 140.0, 20_000)
    lat = rng.uniform(35.0, 36.0, 20_000)
    # points exactly on cell edges, on one spot, and without coordinates
    lon[:50] = np.round(lon[:50] / CELL) * CELL
    lat[50:100] = np.round(lat[50:100] / CELL) * CELL
    lon[100:110], lat[100:110] = 139.5, 35.5
    lon[110], lat[111] = np.nan, np.nan
    return lon, lat


def test_small_boxes_find_what_a_scan_finds() -> None:
    lon, lat = _points()
    grid = BoxGrid.build(lon, lat)
    rng = np.random.default_rng(11)
    boxes = [(139.5, 35.5, 139.5, 35.5), (lon[3], lat[60], lon[3] + 0.05, lat[60] + 0.045)]
    boxes.append((139.5, 35.5, 139.5 + CELL, 35.5 + CELL))  # edges on cell edges
    for _ in range(300):
        w, s = rng.uniform(138.9, 140.05), rng.uniform(34.9, 36.05)
        boxes.append((w, s, w + rng.uniform(0, 0.3), s + rng.uniform(0, 0.3)))
    boxes += [(150.0, 35.0, 151.0, 35.5), (139.0, 10.0, 140.0, 10.5)]  # outside the points
    for box in boxes:
        found = grid.query(*box)
        assert found is not None and found.dtype == np.int64
        assert found.tolist() == _scan(lon, lat, *box), box
    assert grid.query(139.5, 35.5, 139.5, 35.5).tolist() == list(range(100, 110))


def test_tall_boxes_are_left_to_the_caller() -> None:
    lon, lat = _points()
    grid = BoxGrid.build(lon, lat)
    assert grid.query(139.0, 35.0, 139.1, 35.0 + (MAX_ROWS + 1) * CELL) is None
    assert grid.query(139.0, 35.0, 139.1, float("inf")) is None
    empty = BoxGrid.build(np.empty(0), np.empty(0))
    assert empty.query(139.0, 35.0, 139.1, 35.1).tolist() == []
