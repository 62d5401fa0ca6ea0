"""About 800 fictional providers of every type, as rows of mapsvc's generic format.

Names carry "デモ", addresses are in デモ市, phone numbers use the never-assigned 000
prefix (000-0000-xxxx, FAX 000-0001-xxxx, direct line 000-0002-xxxx), e-mail and web
addresses are under example.com. Each 日常生活圏域 gets exactly one 地域包括支援センター at
its centre. A few rows come without coordinates but with a town address the demo
gazetteer can place, and two with an address it cannot (they stay "not geocoded").
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
from shapely.geometry import Point

from mapsvc.core.taxonomy import Taxonomy
from mapsvc.demo import profiles
from mapsvc.demo.geography import CITY, KANJI_CHOME, MUNICIPALITY_CODE, PREFECTURE, Geography, Town
from mapsvc.demo.population import LAT_STEP, LON_STEP, Cell

REFERENCE_DATE = date(2026, 10, 1)  # "today" of the demo data (confirmations count back)
COUNTS: dict[str, int] = {
    "hospital": 12,
    "clinic": 164,
    "dental_clinic": 100,
    "pharmacy": 118,
    "home_nursing": 45,
    "home_rehab": 18,
    "care_management": 90,
    "home_help": 78,
    "day_care": 82,
    "multi_function": 16,
    "periodic_visit": 6,
    "night_home_help": 4,
    "residential": 55,
    "coordination_desk": 1,
    "health_center": 2,
    "welfare_council": 3,
}  # + one community_support_center per 日常生活圏域
VENTILATOR_STATIONS = 4
FIELDS = (
    "source_id",
    "type",
    "name",
    "kana",
    "address",
    "municipality_code",
    "lat",
    "lon",
    "phone",
    "url",
    "hours",
    "status",
    "fax",
    "phone_direct",
    "email",
    "contact_person",
    "contact_hours",
    "notes_professional",
    "confirmed_at",
    "confirmed_by",
    "service_area_km",
    "service_area_minutes",
    "service_area_codes",
    "synthetic",
)
# (name pattern, kana pattern); {t} = town stem, {k} = its kana
NAMES: dict[str, list[tuple[str, str]]] = {
    "hospital": [
        ("デモ{t}病院", "デモ{k}ビョウイン"),
        ("デモ{t}記念病院", "デモ{k}キネンビョウイン"),
    ],
    "clinic": [
        ("デモ{t}内科クリニック", "デモ{k}ナイカクリニック"),
        ("デモ{t}ファミリークリニック", "デモ{k}ファミリークリニック"),
        ("デモ{t}整形外科", "デモ{k}セイケイゲカ"),
        ("デモ{t}こどもクリニック", "デモ{k}コドモクリニック"),
        ("デモ{t}医院", "デモ{k}イイン"),
        ("デモ{t}在宅クリニック", "デモ{k}ザイタククリニック"),
        ("デモ{t}眼科", "デモ{k}ガンカ"),
        ("デモ{t}皮膚科", "デモ{k}ヒフカ"),
    ],
    "dental_clinic": [
        ("デモ{t}歯科医院", "デモ{k}シカイイン"),
        ("デモ{t}デンタルクリニック", "デモ{k}デンタルクリニック"),
    ],
    "pharmacy": [
        ("デモ{t}薬局", "デモ{k}ヤッキョク"),
        ("デモ調剤薬局{t}店", "デモチョウザイヤッキョク{k}テン"),
    ],
    "home_nursing": [("デモ訪問看護ステーション{t}", "デモホウモンカンゴステーション{k}")],
    "home_rehab": [("デモ訪問リハビリ{t}", "デモホウモンリハビリ{k}")],
    "care_management": [("デモ居宅介護支援事業所{t}", "デモキョタクカイゴシエンジギョウショ{k}")],
    "home_help": [("デモヘルパーステーション{t}", "デモヘルパーステーション{k}")],
    "day_care": [
        ("デモデイサービス{t}", "デモデイサービス{k}"),
        ("デモデイケア{t}", "デモデイケア{k}"),
    ],
    "multi_function": [
        ("デモ小規模多機能ホーム{t}", "デモショウキボタキノウホーム{k}"),
        ("デモ看護小規模多機能{t}", "デモカンゴショウキボタキノウ{k}"),
    ],
    "periodic_visit": [("デモ定期巡回サービス{t}", "デモテイキジュンカイサービス{k}")],
    "night_home_help": [("デモ夜間訪問介護{t}", "デモヤカンホウモンカイゴ{k}")],
    "residential": [
        ("デモ特別養護老人ホーム{t}", "デモトクベツヨウゴロウジンホーム{k}"),
        ("デモグループホーム{t}", "デモグループホーム{k}"),
        ("デモ介護老人保健施設{t}", "デモカイゴロウジンホケンシセツ{k}"),
        ("デモサービス付き高齢者向け住宅{t}", "デモサービスツキコウレイシャムケジュウタク{k}"),
    ],
    "coordination_desk": [
        ("デモ市在宅医療・介護連携相談窓口", "デモシザイタクイリョウカイゴレンケイソウダンマドグチ")
    ],
    "health_center": [("デモ市保健センター{t}", "デモシホケンセンター{k}")],
    "welfare_council": [("デモ市社会福祉協議会{t}", "デモシシャカイフクシキョウギカイ{k}")],
}
HOURS = {
    "clinic": "月-金 9:00-12:00, 15:00-18:00 / 土 9:00-12:00",
    "dental_clinic": "月-土 9:00-13:00, 14:30-19:00",
    "pharmacy": "月-金 9:00-19:00 / 土 9:00-13:00",
    "hospital": "外来 月-金 8:30-11:30",
    "periodic_visit": "24時間",
    "night_home_help": "18:00-翌8:00",
    "residential": "24時間",
}
PEOPLE = ("見本 花子", "見本 太郎", "試験 一郎", "例示 さくら", "仮名 次郎")
FW = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _address(rng: np.random.Generator, town: Town, n: int) -> str:
    """An address in the town; every third one in full-width, without the prefecture."""
    short = n % 3 == 0
    if town.chome:
        stem, chome = town.stem[0], KANJI_CHOME.index(town.name[-3]) + 1
        block, house = int(rng.integers(1, 25)), int(rng.integers(1, 30))
        if short:
            return f"{CITY}{stem}{str(chome).translate(FW)}丁目{f'{block}-{house}'.translate(FW)}"
        return f"{PREFECTURE}{CITY}{town.name}{block}番{house}号"
    lot = int(rng.integers(1, 3000))
    if short:
        return f"{CITY}{town.name}{str(lot).translate(FW)}番地"
    return f"{PREFECTURE}{CITY}大字{town.name}{lot}番地"


def _location(
    rng: np.random.Generator, geo: Geography, cells: list[Cell], weights: np.ndarray
) -> Point:
    for _ in range(100):
        cell = cells[int(rng.choice(len(cells), p=weights))]
        lon = cell.lon + rng.uniform(-0.45, 0.45) * LON_STEP
        lat = cell.lat + rng.uniform(-0.45, 0.45) * LAT_STEP
        x, y = geo.metres(lon, lat)
        if geo.boundary.contains(Point(x, y)):
            return Point(x, y)
    return geo.centre


def _confirmed(rng: np.random.Generator) -> str:
    u = rng.random()
    if u < 0.04:
        return ""  # never confirmed
    span = (0, 365) if u < 0.55 else (365, 730) if u < 0.85 else (730, 1095)
    return (REFERENCE_DATE - timedelta(days=int(rng.integers(*span)))).isoformat()


def _service_area(
    rng: np.random.Generator, type_key: str, role: str, area_codes: list[str], own: str
) -> dict[str, str]:
    u = rng.random()
    if type_key == "home_nursing" and u < 0.5:
        return {"service_area_minutes": str(int(rng.choice([20, 30])))}
    if type_key == "pharmacy" and u < 0.3:
        return {"service_area_km": str(int(rng.choice([2, 3, 4])))}
    if type_key in ("care_management", "home_help") and u < 0.25:
        extra = [c for c in area_codes if c != own]
        picked = [own, *rng.choice(extra, size=int(rng.integers(0, 3)), replace=False)]
        return {"service_area_codes": ",".join(sorted(str(c) for c in picked))}
    if type_key == "multi_function":
        return {"service_area_codes": own}  # 地域密着型: residents of its own area
    if type_key == "clinic" and role == "home_care" and u < 0.3:
        return {"service_area_km": "8"}
    return {}


def build_providers(
    rng: np.random.Generator, geo: Geography, cells: list[Cell], taxonomy: Taxonomy
) -> list[dict[str, str]]:
    """Rows of the generic format (every column a string), ordered by source id."""
    counts = dict(COUNTS)
    for type_key in taxonomy.provider_types:
        counts.setdefault(type_key, 0 if type_key == "community_support_center" else 3)
    totals = np.array([c.total for c in cells], dtype=float)
    older = np.array(
        [c.bands["75-79"] + c.bands["80-84"] + c.bands["85+"] for c in cells], dtype=float
    )
    w_medical = totals**1.3 / (totals**1.3).sum()
    w_care = older / older.sum()
    area_codes = [a.code for a in geo.areas]
    rows: list[dict[str, str]] = []
    used_names: set[str] = set()

    def add(
        type_key: str, n: int, point: Point, name: str, kana: str, role: str = ""
    ) -> dict[str, str]:
        town = geo.town_of(point)
        area = geo.area_of(point)
        lon, lat = geo.lonlat(point.x, point.y)
        serial = len(rows) + 1
        row = {f: "" for f in FIELDS}
        row.update(
            source_id=f"demo-{type_key}-{n:03d}",
            type=type_key,
            name=name,
            kana=kana,
            address=_address(rng, town, serial),
            municipality_code=MUNICIPALITY_CODE,
            lat=f"{lat:.6f}",
            lon=f"{lon:.6f}",
            phone=f"000-0000-{serial:04d}",
            hours=HOURS.get(type_key, "月-金 8:30-17:30"),
            status="active",
            confirmed_at=_confirmed(rng),
            synthetic="true",
        )
        if row["confirmed_at"]:
            row["confirmed_by"] = str(
                rng.choice(["デモ市地域包括ケア推進課", "事業所回答（追加調査）", "デモ市医師会"])
            )
        if rng.random() < 0.4:
            row["url"] = f"https://example.com/demo/{row['source_id']}"
        if rng.random() < 0.65:
            row.update(
                fax=f"000-0001-{serial:04d}",
                phone_direct=f"000-0002-{serial:04d}",
                contact_person=f"地域連携担当 {PEOPLE[serial % len(PEOPLE)]}（架空）",
                contact_hours=str(
                    rng.choice(["平日 9:00-17:00", "平日 13:00-16:00", "月水金 10:00-12:00"])
                ),
            )
            if rng.random() < 0.5:
                row["email"] = f"{row['source_id']}@example.com"
            if rng.random() < 0.5:
                row["notes_professional"] = profiles.NOTES[int(rng.integers(len(profiles.NOTES)))]
        row.update(_service_area(rng, type_key, role, area_codes, area.code))
        surveyed = type_key == "community_support_center" or rng.random() >= 0.1
        row.update(profiles.answers(rng, taxonomy, type_key, role or None, surveyed))
        rows.append(row)
        return row

    for area in geo.areas:
        stem = area.name.removesuffix("圏域")
        row = add(
            "community_support_center",
            len(rows) + 1,
            area.centre,
            f"デモ市{stem}地域包括支援センター",
            f"デモシ{area.kana.removesuffix('ケンイキ')}チイキホウカツシエンセンター",
        )
        row["service_area_codes"] = area.code
    for type_key, count in counts.items():
        label = taxonomy.provider_types[type_key].label.ja
        patterns = NAMES.get(type_key, [(f"デモ{{t}}{label}", "デモ{k}")])
        weights = (
            w_care if type_key in ("residential", "day_care", "care_management") else w_medical
        )
        ventilator = set()
        if type_key == "home_nursing":
            ventilator = {
                int(i) for i in rng.choice(count, size=VENTILATOR_STATIONS, replace=False)
            }
        for n in range(1, count + 1):
            point = (
                geo.centre
                if type_key in ("coordination_desk",)
                else _location(rng, geo, cells, weights)
            )
            stem, stem_kana = geo.town_of(point).stem
            pattern, kana_pattern = patterns[int(rng.integers(len(patterns)))]
            base, base_kana = pattern.format(t=stem), kana_pattern.format(k=stem_kana)
            name, kana, suffix = base, base_kana, 2
            while name in used_names:
                name, kana = f"{base}第{suffix}", f"{base_kana}ダイ{suffix}"
                suffix += 1
            used_names.add(name)
            role = profiles.clinic_role(rng) if type_key == "clinic" else ""
            row = add(type_key, n, point, name, kana, role)
            if type_key == "clinic":
                row["home_care_support_clinic"] = profiles.home_care_registration(rng, role)
            if n - 1 in ventilator:
                profiles.make_ventilator_station(rng, row)
            if type_key == "hospital" and n <= 2:
                row["home_care_support_hospital"] = "enhanced_linked" if n == 1 else "conventional"
                row["home_visit_medical"], row["response_24h"] = "active", "active"
    _finish(rng, rows)
    rows.sort(key=lambda r: r["source_id"])
    return rows


def _finish(rng: np.random.Generator, rows: list[dict[str, str]]) -> None:
    """Suspend a few, and take the coordinates off a few (two with unknown towns)."""
    candidates = [
        i
        for i, r in enumerate(rows)
        if r["type"] not in ("community_support_center", "coordination_desk")
    ]
    picked = [int(i) for i in rng.choice(candidates, size=17, replace=False)]
    for i in picked[:3]:
        rows[i]["status"] = "suspended"
    for n, i in enumerate(picked[3:]):
        rows[i]["lat"] = rows[i]["lon"] = ""
        if n < 2:
            rows[i]["address"] = f"{PREFECTURE}{CITY}大字架空山{int(rng.integers(100, 999))}番地"


def columns(taxonomy: Taxonomy, rows: list[dict[str, Any]]) -> list[str]:
    """CSV header: record fields, then capability keys in taxonomy order."""
    present = {k for r in rows for k in r}
    return [*FIELDS, *(k for k in taxonomy.capabilities if k in present)]
