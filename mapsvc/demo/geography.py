"""Geography of the fictional demo city: boundary, towns, 日常生活圏域 and their centres.

Everything is built in projected metres (the JGD2011 UTM zone of the centre) around
:data:`CENTRE` and converted to lon/lat at the end. Towns are Voronoi cells of spread
points clipped to the city; each 日常生活圏域 is a connected union of towns, so towns nest
in areas and areas tile the city exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from mapsvc.core.projection import to_degrees, to_metres, utm_crs_for_lon

# A plausible inland site on the Kanto plain (栃木県, prefecture 09). The city itself,
# its code 09999 (+ check digit 6; city numbers 999 are never assigned), its towns and
# every facility are invented.
CENTRE = (139.735, 36.405)  # lon, lat
PREFECTURE = "栃木県"
PREFECTURE_CODE = "09"
CITY = "デモ市"  # as written in addresses
CITY_LABEL = "デモ市（架空）"  # as shown to people
MUNICIPALITY_CODE = "099996"
RADIUS_M = 7000.0

# (kanji, kana) stems for towns; central towns get 丁目, outer ones are 大字 names.
CENTRAL_STEMS = [
    ("本町", "ホンマチ"),
    ("中央", "チュウオウ"),
    ("栄町", "サカエマチ"),
    ("錦町", "ニシキチョウ"),
    ("大手町", "オオテマチ"),
    ("駅前", "エキマエ"),
    ("旭町", "アサヒマチ"),
    ("緑町", "ミドリチョウ"),
    ("若葉町", "ワカバチョウ"),
    ("桜木町", "サクラギチョウ"),
    ("寿町", "コトブキチョウ"),
    ("城東", "ジョウトウ"),
]
OUTER_STEMS = [
    ("上野原", "ウエノハラ"),
    ("下野原", "シモノハラ"),
    ("北原", "キタハラ"),
    ("南原", "ミナミハラ"),
    ("東雲", "シノノメ"),
    ("松原", "マツバラ"),
    ("梅ケ丘", "ウメガオカ"),
    ("青葉台", "アオバダイ"),
    ("富士見", "フジミ"),
    ("日の出", "ヒノデ"),
    ("高砂", "タカサゴ"),
    ("春日", "カスガ"),
    ("八幡", "ヤワタ"),
    ("天神", "テンジン"),
    ("中島", "ナカジマ"),
    ("川端", "カワバタ"),
    ("石橋", "イシバシ"),
    ("大沢", "オオサワ"),
    ("長沼", "ナガヌマ"),
    ("杉山", "スギヤマ"),
    ("竹之内", "タケノウチ"),
    ("宮下", "ミヤシタ"),
    ("堀之内", "ホリノウチ"),
    ("坂下", "サカシタ"),
    ("浅間", "センゲン"),
    ("神明", "シンメイ"),
    ("小泉", "コイズミ"),
    ("荒井", "アライ"),
    ("柳沢", "ヤナギサワ"),
    ("千代田", "チヨダ"),
    ("岡本", "オカモト"),
    ("森下", "モリシタ"),
    ("西原", "ニシハラ"),
    ("東原", "ヒガシハラ"),
    ("清水", "シミズ"),
    ("泉", "イズミ"),
]
KANJI_CHOME = ["一", "二", "三", "四", "五"]
KANA_CHOME = ["イッチョウメ", "ニチョウメ", "サンチョウメ", "ヨンチョウメ", "ゴチョウメ"]
COMPASS = ["東部", "北東部", "北部", "北西部", "西部", "南西部", "南部", "南東部"]
COMPASS_KANA = [
    "トウブ",
    "ホクトウブ",
    "ホクブ",
    "ホクセイブ",
    "セイブ",
    "ナンセイブ",
    "ナンブ",
    "ナントウブ",
]


@dataclass
class Town:
    code: str  # 12 digits like 位置参照情報 大字町丁目コード
    name: str  # 本町二丁目 / 上野原
    kana: str
    chome: bool  # 丁目 (block numbers) rather than 大字 (lot numbers)
    cell: BaseGeometry  # metres
    point: Point  # representative point, metres
    area_code: str = ""

    @property
    def stem(self) -> tuple[str, str]:
        """Name and kana without the 丁目 (本町一丁目 → 本町, ホンマチ)."""
        if not self.chome:
            return self.name, self.kana
        n = KANJI_CHOME.index(self.name[-3])
        return self.name[:-3], self.kana.removesuffix(KANA_CHOME[n])


@dataclass
class DailyLifeArea:
    code: str
    name: str
    kana: str
    geometry: BaseGeometry  # metres
    centre: Point  # where its 地域包括支援センター stands, metres
    centre_town: str
    towns: list[str] = field(default_factory=list)


@dataclass
class Geography:
    crs: CRS
    boundary: BaseGeometry  # metres
    towns: list[Town]
    areas: list[DailyLifeArea]
    centre: Point  # metres

    @cached_property
    def _to_degrees(self) -> Any:
        return to_degrees(self.crs)

    @cached_property
    def _to_metres(self) -> Any:
        return to_metres(self.crs)

    def to_lonlat(self, geom: BaseGeometry, digits: int = 6) -> BaseGeometry:
        out = shapely.transform(geom, self._to_degrees.transform, interleaved=False)
        return shapely.set_precision(out, 10**-digits) if digits else out

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        lon, lat = self._to_degrees.transform(x, y)
        return round(float(lon), 7), round(float(lat), 7)

    def metres(self, lon: Any, lat: Any) -> tuple[Any, Any]:
        return self._to_metres.transform(lon, lat)

    def area_of(self, point: Point) -> DailyLifeArea:
        for area in self.areas:
            if area.geometry.covers(point):
                return area
        return min(self.areas, key=lambda a: a.geometry.distance(point))

    def town_of(self, point: Point) -> Town:
        for town in self.towns:
            if town.cell.covers(point):
                return town
        return min(self.towns, key=lambda t: t.cell.distance(point))


def _boundary(rng: np.random.Generator, cx: float, cy: float) -> Polygon:
    theta = np.linspace(0, 2 * math.pi, 180, endpoint=False)
    phases = rng.uniform(0, 2 * math.pi, 4)
    r = RADIUS_M * (
        1
        + 0.12 * np.sin(2 * theta + phases[0])
        + 0.07 * np.sin(3 * theta + phases[1])
        + 0.04 * np.sin(5 * theta + phases[2])
        + 0.02 * np.sin(9 * theta + phases[3])
    )
    xs, ys = cx + r * np.cos(theta), cy + r * 0.85 * np.sin(theta)
    return Polygon(np.column_stack([np.round(xs, 1), np.round(ys, 1)]))


def _town_points(rng: np.random.Generator, boundary: Polygon, centre: Point) -> list[Point]:
    """Spread points, closer together near the centre (smaller towns where people live)."""
    points: list[Point] = []
    minx, miny, maxx, maxy = boundary.bounds
    for _ in range(20000):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if not boundary.contains(p):
            continue
        d = p.distance(centre)
        spacing = 650 + 900 * (d / RADIUS_M)
        if all(p.distance(q) >= spacing for q in points):
            points.append(p)
        if len(points) >= 60:
            break
    return points


def _connected(
    members: dict[str, list[int]], cells: list[BaseGeometry], centres: dict[str, Point]
) -> None:
    """Move towns so that each area's union is one polygon (in place)."""
    for _ in range(20):
        moved = False
        for code, idx in members.items():
            union = shapely.union_all([cells[i] for i in idx])
            if union.geom_type == "Polygon":
                continue
            main = max(union.geoms, key=lambda g: (g.covers(centres[code]), g.area))
            for i in list(idx):
                if not main.buffer(1.0).covers(cells[i]):
                    neighbours = [
                        (cells[i].buffer(1.0).intersection(cells[j]).area, other)
                        for other, jdx in members.items()
                        if other != code
                        for j in jdx
                        if cells[i].buffer(1.0).intersects(cells[j])
                    ]
                    if neighbours:
                        target = max(neighbours)[1]
                        idx.remove(i)
                        members[target].append(i)
                        moved = True
        if not moved:
            return


def build_geography(rng: np.random.Generator) -> Geography:
    """The city, its towns and six 日常生活圏域 (deterministic for a given generator)."""
    crs = utm_crs_for_lon(CENTRE[0])
    cx, cy = to_metres(crs).transform(*CENTRE)
    cx, cy = round(cx, 1), round(cy, 1)
    centre = Point(cx, cy)
    boundary = _boundary(rng, cx, cy)
    points = _town_points(rng, boundary, centre)
    diagram = shapely.voronoi_polygons(
        shapely.MultiPoint(points), extend_to=boundary.buffer(2000), ordered=True
    )
    cells = [shapely.intersection(cell, boundary) for cell in diagram.geoms]

    # six areas: one in the middle, five around it
    start = rng.uniform(0, 2 * math.pi)
    seeds = {f"{MUNICIPALITY_CODE}-01": (Point(cx, cy), "中央圏域", "チュウオウケンイキ")}
    for k in range(5):
        a = start + k * 2 * math.pi / 5
        bin_ = int(((math.degrees(a) % 360) + 22.5) // 45) % 8
        seeds[f"{MUNICIPALITY_CODE}-{k + 2:02d}"] = (
            Point(cx + 0.62 * RADIUS_M * math.cos(a), cy + 0.55 * RADIUS_M * math.sin(a)),
            f"{COMPASS[bin_]}圏域",
            f"{COMPASS_KANA[bin_]}ケンイキ",
        )
    members: dict[str, list[int]] = {code: [] for code in seeds}
    for i, p in enumerate(points):
        code = min(seeds, key=lambda c: p.distance(seeds[c][0]))
        members[code].append(i)
    _connected(members, cells, {c: s[0] for c, s in seeds.items()})

    # name the towns: the nearest to the centre get 丁目 names
    order = sorted(range(len(points)), key=lambda i: points[i].distance(centre))
    names: dict[int, tuple[str, str, bool]] = {}
    central = order[: 2 * len(CENTRAL_STEMS)]
    for n, i in enumerate(central):
        stem, kana = CENTRAL_STEMS[n // 2]
        names[i] = (f"{stem}{KANJI_CHOME[n % 2]}丁目", f"{kana}{KANA_CHOME[n % 2]}", True)
    outer = [i for i in order if i not in names]
    stems = list(OUTER_STEMS)
    rng.shuffle(stems)
    for n, i in enumerate(outer):
        stem, kana = stems[n % len(stems)]
        names[i] = (stem if n < len(stems) else f"{stem}新田", kana, False)

    towns: list[Town] = []
    by_index: dict[int, Town] = {}
    for n, i in enumerate(sorted(range(len(points)), key=lambda i: names[i][0])):
        name, kana, chome = names[i]
        code = f"{MUNICIPALITY_CODE[:5]}{n + 1:04d}{'001' if chome else '000'}"
        town = Town(code, name, kana, chome, cells[i], cells[i].representative_point())
        towns.append(town)
        by_index[i] = town

    areas: list[DailyLifeArea] = []
    for code, (seed, name, kana) in seeds.items():
        idx = members[code]
        geometry = shapely.union_all([cells[i] for i in idx])
        home = min(idx, key=lambda i: points[i].distance(seed))
        for i in idx:
            by_index[i].area_code = code
        areas.append(
            DailyLifeArea(
                code,
                name,
                kana,
                geometry,
                by_index[home].point,
                by_index[home].name,
                sorted(by_index[i].name for i in idx),
            )
        )
    return Geography(crs, boundary, towns, areas, centre)
