"""A starting mapping for a file in an unknown schema, from its header and its values.

:func:`suggest_mapping` reads the file with the importer's reader, recognises columns by
their header (Japanese, English, schema.org URIs) and checks each guess against the values
(coordinates inside Japan, phone-like text, URLs, ids that are unique), decides the provider
type from a column whose values name kinds of facility (施設区分, 業務種別, サービス種類, …)
or from the names (…病院, …薬局), or uses the ``--type`` given, and writes YAML with a
comment on every guess and on what it could not decide. Importing with the result is meant
to work as it is; the user edits it only to add what a file cannot say.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from mapsvc.core.codes import header_key
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.ingest.reader import read_raw
from mapsvc.ingest.text import clean

# (target, header pattern); first match per target wins, a header serves one target
_HEADER_RULES: list[tuple[str, str]] = [
    ("lat", r"緯度|^lat(itude)?$|wgs84_pos#lat$|^y$"),
    ("lon", r"経度|^lon(g|gitude|gtitude)?$|^lng$|wgs84_pos#long?$|^x$"),
    ("kana", r"カナ|かな|フリガナ|ふりがな|kana|furigana"),
    ("fax", r"fax|ファクス|ファックス"),
    ("phone", r"電話|tel|phone"),
    ("url", r"url|ホームページ|hp$|website|schema.org/url"),
    ("email", r"メール|e-?mail"),
    ("municipality_code", r"団体コード|市区町村コード|市町村コード"),
    ("postal", r"郵便|postal|zip"),
    ("address", r"所在地|住所|address"),
    ("hours", r"診療時間|営業時間|受付時間|開館時間|利用可能曜日"),
    ("name", r"名称|施設名|事業所名|医療機関名|病院名|薬局名|^name$|_name$|schema.org/name"),
    ("id", r"^id$|^#property$|番号|^no\.?$|^№$|コード$|^code$|identifier"),
]
_NOT_NAME = re.compile(r"法人|開設者|管理者|代表者|カナ|かな|英|所管|フリガナ")
_TYPE_HEADER = re.compile(
    r"施設区分|業務種別|サービス(の)?種(類|別)|種別|区分|分類|category|alternativename|"
    r"医療機関の種類|施設の種類|service"
)
_ID_PREFERENCE = re.compile(r"事業所番号|医療機関コード|許可番号|施設番号|^id$|#property")

# Kinds of facility, by keyword (first match wins); "by_name" = a service clinics, dental
# clinics and pharmacies provide, so the name says which; "reject" = not a home-care resource.
TYPE_WORDS: list[tuple[str, str]] = [
    (r"居宅療養管理指導", "by_name"),
    (r"地域包括支援センター|包括支援", "community_support_center"),
    (r"定期巡回", "periodic_visit"),
    (r"夜間対応型訪問介護", "night_home_help"),
    (r"小規模多機能|複合型サービス", "multi_function"),
    (r"訪問看護", "home_nursing"),
    (r"訪問リハ", "home_rehab"),
    (r"居宅介護支援|介護予防支援|ケアプラン", "care_management"),
    (r"福祉用具", "reject"),
    (r"訪問介護|訪問入浴|ヘルプ", "home_help"),
    (r"通所|デイ", "day_care"),
    (
        r"老人福祉施設|老人保健施設|介護医療院|療養型|共同生活介護|グループホーム|特定施設|"
        r"有料老人ホーム|サービス付き高齢者|短期入所|特別養護|ケアハウス|軽費老人|養護老人",
        "residential",
    ),
    (r"歯科", "dental_clinic"),
    (r"薬局|薬店", "pharmacy"),
    (r"病院", "hospital"),
    (r"診療所|クリニック|医院", "clinic"),
    (r"保健所|保健センター", "health_center"),
    (r"社会福祉協議会|社協|福祉センター", "welfare_council"),
]
NAME_RULES: list[dict[str, str]] = [
    {"regex": "歯科", "type": "dental_clinic"},
    {"regex": "薬局|薬店|ファーマシー|調剤", "type": "pharmacy"},
    {"regex": "病院", "type": "hospital"},
    {"regex": "助産", "type": "reject"},
    {
        "regex": "診療所|クリニック|医院|医療|メディカル|内科|外科|整形|眼科|皮膚科|小児科",
        "type": "clinic",
    },
    {"regex": "訪問看護|看護ステーション", "type": "home_nursing"},
]


def classify_type(value: str) -> str | None:
    """The provider type a cell such as 「訪問看護」 or 「病院」 names (or by_name / reject)."""
    text = clean(value)
    for pattern, result in TYPE_WORDS:
        if re.search(pattern, text):
            return result
    return None


def _looks(values: list[str], kind: str) -> float:
    """Share of non-empty sample values that look like ``kind``."""
    filled = [clean(v) for v in values if clean(v)]
    if not filled:
        return 0.0
    tests: dict[str, Callable[[str], bool]] = {
        "lat": lambda v: _num(v) is not None and 20 <= (_num(v) or 0) <= 46,
        "lon": lambda v: _num(v) is not None and 122 <= (_num(v) or 0) <= 154,
        "phone": lambda v: bool(re.search(r"\d{2,5}[-)）]\d{1,4}-?\d{3,4}", v)),
        "url": lambda v: v.startswith(("http://", "https://", "www.")),
        "address": lambda v: bool(re.search(r"[都道府県市区町村郡]", v)) and len(v) >= 5,
    }
    test = tests.get(kind)
    if test is None:
        return 1.0
    return sum(1 for v in filled if test(v)) / len(filled)


def _num(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _extra_key(header: str) -> str:
    key = re.sub(r"^https?://[^#]*[#/]", "", header)
    key = re.sub(r"\s+", "_", clean(key)).strip("_") or "column"
    return key[:60]


def suggest_mapping(
    path: Path, taxonomy: Taxonomy, *, provider_type: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """(mapping as a dict, notes on what was guessed and what was not) for one file."""
    raw = read_raw(path)
    best = max(
        range(min(10, len(raw.rows))), key=lambda i: sum(1 for c in raw.rows[i][1] if c.strip())
    )
    header = [c.replace("\ufeff", "").strip() for c in raw.rows[best][1]]
    data = [cells for _, cells in raw.rows[best + 1 :]]
    column = {h: [r[i] if i < len(r) else "" for r in data] for i, h in enumerate(header) if h}
    notes: list[str] = [f"read {len(data)} data rows after the header on row {best + 1}"]
    found: dict[str, str] = {}
    used: set[str] = set()
    for target, pattern in _HEADER_RULES:
        for h in header:
            if not h or h in used:
                continue
            key = header_key(h)
            if not re.search(pattern, key):
                continue
            if target == "name" and _NOT_NAME.search(h):
                continue
            if (
                target in ("lat", "lon", "phone", "url", "address")
                and _looks(column[h], target) < 0.6
            ):
                notes.append(f"{h!r} is named like {target} but its values do not look like it")
                continue
            if target == "id":
                continue  # ids are chosen below, by uniqueness
            found[target] = h
            used.add(h)
            break
    if "name" not in found:
        notes.append("could not tell which column is the name: set columns.name")

    type_col, type_map = _type_column(header, column, used)
    mapping: dict[str, Any] = {
        "name": re.sub(r"\W+", "_", path.stem.lower()).strip("_") or "city_own",
        "title": f"{path.name} (suggested mapping)",
        "source": re.sub(r"[^a-z0-9-]+", "-", path.stem.lower()).strip("-") or "city-own",
        "file_types": ["csv", "xlsx", "geojson"],
        "detect": {"all": [found.get("name") or header[0]]},
        "columns": {},
    }
    columns = mapping["columns"]
    for target in (
        "name",
        "kana",
        "address",
        "municipality_code",
        "lat",
        "lon",
        "phone",
        "fax",
        "url",
        "email",
        "hours",
    ):
        if target in found:
            columns[target] = found[target]
    id_col = _id_column(header, column, used | {type_col or ""}, repeats_ok=type_col is not None)
    if id_col:
        used.add(id_col)
        values = [clean(v) for v in column[id_col] if clean(v)]
        if len(set(values)) < len(values) and type_col:
            columns["source_id"] = {"template": f"{{{id_col}}}-{{@type}}"}
            notes.append(
                f"ids in {id_col!r} repeat (one row per service?): source id = {id_col} + type; "
                "repeated rows of one provider are merged"
            )
        else:
            columns["source_id"] = id_col
            notes.append(f"source id: {id_col!r} (unique in this file)")
    else:
        notes.append("no id column: rows get a derived id (name + address + type)")
    mapping["required_columns"] = [t for t in ("name",) if t in columns]
    mapping["required_values"] = [t for t in ("name",) if t in columns]

    if provider_type:
        mapping["type"] = {"fixed": provider_type}
        notes.append(f"type: {provider_type} for every row (--type)")
    elif type_col:
        mapping["type"] = {"column": type_col, "map": type_map}
        rejected = sorted(v for v, t in type_map.items() if t == "reject")
        notes.append(f"type from column {type_col!r} ({len(type_map)} values)")
        if rejected:
            notes.append(
                "values mapped to reject (not a home-care resource); change any that are: "
                + ", ".join(rejected[:12])
                + (" …" if len(rejected) > 12 else "")
            )
        if "by_name" in type_map.values():
            mapping["type"]["by_name"] = NAME_RULES
            notes.append("some services are provided by clinics and pharmacies: type by name")
    else:
        mapping["type"] = {"by_name": NAME_RULES}
        notes.append("no column names the kind of facility: type from the name (or pass --type)")
    extra = {}
    for h in header:
        if h and h not in used and h not in found.values() and h != type_col:
            extra[_extra_key(h)] = h
    if "postal" in found:
        extra["postal_code"] = found["postal"]
    if type_col:
        extra["kind"] = type_col
    mapping["columns"].pop("postal", None)
    if extra:
        mapping["extra"] = extra
    return mapping, notes


def _type_column(
    header: list[str], column: dict[str, list[str]], used: set[str]
) -> tuple[str | None, dict[str, str]]:
    """The column whose values name kinds of facility, and a value → type map."""
    best: tuple[float, str | None, dict[str, str]] = (0.0, None, {})
    for h in header:
        if not h or h in used:
            continue
        values = [clean(v) for v in column[h] if clean(v)]
        if not values:
            continue
        distinct = Counter(values)
        if len(distinct) > 200:
            continue
        mapped = {v: classify_type(v) for v in distinct}
        share = sum(n for v, n in distinct.items() if mapped[v]) / len(values)
        bonus = 0.2 if _TYPE_HEADER.search(header_key(h)) else 0.0
        if share + bonus > best[0] and share >= 0.3:
            best = (share + bonus, h, {v: t or "reject" for v, t in sorted(mapped.items())})
    return best[1], best[2]


def _id_column(
    header: list[str], column: dict[str, list[str]], used: set[str], *, repeats_ok: bool
) -> str | None:
    """A filled, unique id column; with ``repeats_ok`` (a type column exists) a column named
    like an office number may repeat (one row per service: the id becomes number + type)."""
    candidates = []
    for h in header:
        if not h or h in used:
            continue
        key = header_key(h)
        named = re.search(_HEADER_RULES[-1][1], key) or _ID_PREFERENCE.search(key)
        if not named:
            continue
        values = [clean(v) for v in column[h] if clean(v)]
        if not values or len(values) < 0.9 * len(column[h]):
            continue
        unique = len(set(values)) / len(values)
        candidates.append((bool(_ID_PREFERENCE.search(key)), unique, h))
    candidates.sort(key=lambda c: (c[1] >= 0.999, c[0], c[1]), reverse=True)
    for preferred, unique, h in candidates:
        if unique >= 0.5 or (preferred and repeats_ok):
            return h
    return None


def render(mapping: dict[str, Any], notes: list[str], path: Path) -> str:
    """YAML text with the notes as comments at the top."""
    head = [
        f"# Suggested by `mapsvc mapping suggest {path.name}`: check it, then import with",
        f"#   mapsvc import {path.name} --mapping THIS_FILE",
        "# What was guessed, and what could not be:",
        *[f"#  - {n}" for n in notes],
        "",
    ]
    body = yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False, width=100)
    return "\n".join(head) + body
