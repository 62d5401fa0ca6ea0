"""Population by five-year age band, per mesh cell or small area (town).

Every dataset uses the same 18 bands (:data:`BANDS`: ``"0-4"`` … ``"80-84"``, ``"85+"``);
``65+`` and ``75+`` are derived (:func:`derived_bands`). Files are loaded with
:func:`import_population`, which recognises the format from the header (see
:mod:`mapsvc.geo._population_formats`): 自治体標準 地域・年齢別人口, Takamatsu's own schema,
e-Stat mesh CSV, and mapsvc's grid (the demo). A dataset is one file's content: importing
again into the same dataset upserts by key and removes units the file no longer has;
an import that changes anything bumps the store generation, so in-process caches of the
planner's results refresh.

Totals are kept as the data says. A unit whose bands do not add up to its total (e-Stat
counts people of unknown age in the total only) is loaded as it is and listed in the
report; coverage by band and by total therefore each add up on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mapsvc.core.db import bump_generation
from mapsvc.core.errors import DataUnavailable, ImportFailed, InvalidInput
from mapsvc.core.models import PopulationUnit
from mapsvc.geo._population_formats import BANDS, READERS, RowRejected, Unit, read_table, read_text
from mapsvc.geo._population_place import drop_subtotals, locate_towns

if TYPE_CHECKING:
    from mapsvc.core.services import Services

__all__ = [
    "BANDS",
    "OLDER_BANDS",
    "VERY_OLD_BANDS",
    "PopulationReport",
    "cell_polygons",
    "derived_bands",
    "import_population",
    "population_datasets",
    "population_frame",
]

OLDER_BANDS: tuple[str, ...] = ("65-69", "70-74", "75-79", "80-84", "85+")  # 65+
VERY_OLD_BANDS: tuple[str, ...] = ("75-79", "80-84", "85+")  # 75+ (後期高齢者)
_DATASET_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


def derived_bands(bands: dict[str, int]) -> dict[str, int]:
    """``{"total", "65+", "75+"}`` from the 18 five-year bands.

    ``total`` here is the sum of the bands; a unit's stored ``total`` is the data's own
    figure, which can be larger (people of unknown age).

    Raises
    ------
    KeyError
        A band is missing.
    """
    return {
        "total": sum(int(bands[b]) for b in BANDS),
        "65+": sum(int(bands[b]) for b in OLDER_BANDS),
        "75+": sum(int(bands[b]) for b in VERY_OLD_BANDS),
    }


@dataclass
class PopulationReport:
    """What an import did. ``rows`` = data rows read = ``loaded + rejected``."""

    dataset: str
    format: str
    rows: int
    loaded: int
    rejected: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    total: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)
    bands_differ: list[str] = field(default_factory=list)  # keys whose bands != total
    # keys whose point lies outside their municipality's loaded boundary (a data error?)
    outside_municipality: list[str] = field(default_factory=list)
    # subtotal rows (越前市 above its districts, 合計 …): skipped, never counted twice
    subtotals: list[tuple[int, str]] = field(default_factory=list)
    # keys of area-only units (no point: counted per area, not in distance analyses)
    area_only: list[str] = field(default_factory=list)
    located: dict[str, int] = field(default_factory=dict)  # file/town_area/gazetteer/area_only
    without_bands: int = 0  # units of a file with totals only (bands unknown)

    def summary(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "format": self.format,
            "rows": self.rows,
            "loaded": self.loaded,
            "rejected": self.rejected,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "total": self.total,
            "bands_differ_from_total": len(self.bands_differ),
            "outside_municipality": len(self.outside_municipality),
            "subtotals_skipped": len(self.subtotals),
            "area_only": len(self.area_only),
            "located": dict(self.located),
            "without_bands": self.without_bands,
        }


def import_population(
    services: Services, path: Path | str, dataset: str | None = None
) -> PopulationReport:
    """Load a population file into ``dataset`` (format detected from the header).

    Parameters
    ----------
    services
        :class:`mapsvc.core.services.Services`.
    path
        CSV in UTF-8 (with or without BOM) or CP932.
    dataset
        Dataset name (letters, digits, ``_-.``); default: the file name without suffix.

    Returns
    -------
    PopulationReport
        Rows read, loaded and rejected (with line and reason), and the upsert counts.

    Raises
    ------
    ImportFailed
        The file cannot be read, its format is unknown, columns are missing, or no row
        could be loaded. Nothing is written then (one transaction).
    """
    path = Path(path)
    dataset = dataset or path.name.split(".")[0]
    if not set(dataset) <= _DATASET_CHARS or not 0 < len(dataset) <= 80:
        raise InvalidInput(
            f"dataset name {dataset!r}: use up to 80 letters, digits, '_', '-' or '.'",
            field="dataset",
        )
    if not path.is_file():
        raise ImportFailed(f"{path}: file not found", field="file")
    try:
        fmt, table = read_table(read_text(path))
        results = list(READERS[fmt](table))
    except ValueError as exc:
        raise ImportFailed(f"{path}: {exc}", field="file") from None
    report = PopulationReport(dataset, fmt, rows=len(table.rows), loaded=0, rejected=0)
    good: list[tuple[int, Unit]] = []
    seen: dict[str, int] = {}
    for line, item in results:
        if isinstance(item, RowRejected):
            report.rejections.append((line, str(item)))
        elif item.key in seen:
            report.rejections.append((line, f"duplicate key {item.key!r} (line {seen[item.key]})"))
        else:
            seen[item.key] = line
            good.append((line, item))
    good, report.subtotals = drop_subtotals(good)
    with services.store.session() as session:
        report.located = locate_towns(session, services, good)
        report.rejections.sort()
        report.rejected = len(report.rejections)
        if not good:
            first = "; ".join(f"line {ln}: {r}" for ln, r in report.rejections[:3])
            raise ImportFailed(f"{path}: no row could be loaded ({first})", field="file")
        _flag_outside(session, [u for _, u in good], report)
        _write(session, dataset, fmt, path, [u for _, u in good], report)
    return report


def _flag_outside(session: Session, units: list[Unit], report: PopulationReport) -> None:
    """Note units placed outside their municipality's boundary, when that boundary is loaded."""
    from mapsvc.core.codes import normalise_municipality_code
    from mapsvc.geo.areas import areas_frame

    frame = None
    for unit in units:
        raw = unit.properties.get("municipality_code")
        if raw:
            try:
                unit.properties["municipality_code"] = normalise_municipality_code(str(raw))
            except ValueError:
                pass
        if not raw or unit.lon is None:
            continue
        if frame is None:
            frame = areas_frame(session, "municipality").set_index("code")
        try:
            code = normalise_municipality_code(str(raw))
        except ValueError:
            continue
        unit.properties["municipality_code"] = code
        if code in frame.index and not frame.loc[code].geometry.covers(
            shapely.Point(unit.lon, unit.lat)
        ):
            unit.properties["outside_municipality"] = True
            report.outside_municipality.append(unit.key)


def _write(
    session: Session,
    dataset: str,
    fmt: str,
    path: Path,
    units: list[Unit],
    report: PopulationReport,
) -> None:
    existing = {
        u.key: u
        for u in session.scalars(select(PopulationUnit).where(PopulationUnit.dataset == dataset))
    }
    for unit in units:
        values: dict[str, Any] = {
            "kind": unit.kind,
            "name": unit.name,
            "lon": None if unit.lon is None else float(unit.lon),
            "lat": None if unit.lat is None else float(unit.lat),
            "geometry": None,
            "total": unit.total,
            "bands": {b: int(unit.bands[b]) for b in BANDS},
            "survey_date": unit.survey_date,
            "area_code": unit.area_code,
            "properties": {**unit.properties, "format": fmt, "source_file": path.name},
        }
        report.total += unit.total
        if unit.lon is None:
            report.area_only.append(unit.key)
        if unit.properties.get("bands_unknown"):
            report.without_bands += 1
        elif sum(values["bands"].values()) != unit.total:
            report.bands_differ.append(unit.key)
        row = existing.pop(unit.key, None)
        if row is None:
            session.add(PopulationUnit(dataset=dataset, key=unit.key, **values))
            report.inserted += 1
            continue
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        for k, v in changed.items():
            setattr(row, k, v)
        report.updated += bool(changed)
        report.unchanged += not changed
    if existing:
        session.execute(
            delete(PopulationUnit).where(
                PopulationUnit.dataset == dataset, PopulationUnit.key.in_(list(existing))
            )
        )
    report.removed = len(existing)
    report.loaded = len(units)
    if report.inserted or report.updated or report.removed:
        # the planner's in-process caches (indicators, choropleths) key on the generation
        bump_generation(session, "population")


def population_datasets(session: Session) -> list[dict[str, Any]]:
    """Loaded datasets: name, kind, units, total, survey date, synthetic flag."""
    rows = session.execute(
        select(
            PopulationUnit.dataset,
            PopulationUnit.kind,
            func.count(),
            func.sum(PopulationUnit.total),
            func.max(PopulationUnit.survey_date),
        )
        .group_by(PopulationUnit.dataset, PopulationUnit.kind)
        .order_by(PopulationUnit.dataset)
    ).all()
    out = []
    for name, kind, units, total, survey in rows:
        sample = session.scalar(
            select(PopulationUnit.properties).where(PopulationUnit.dataset == name).limit(1)
        )
        out.append(
            {
                "dataset": name,
                "kind": kind,
                "units": int(units),
                "total": int(total or 0),
                "survey_date": survey,
                "synthetic": bool((sample or {}).get("synthetic")),
            }
        )
    return out


def population_frame(
    session: Session, dataset: str, *, area_only: bool = False
) -> gpd.GeoDataFrame:
    """Units of a dataset as points (EPSG:4326), ordered by key.

    Area-only units (no point) are left out unless ``area_only=True``; then they come with
    an empty geometry and ``placeable`` False, for per-area sums by ``area_code`` or
    ``municipality_code`` (never for distances).

    Columns: ``key, name, kind, total``, the 18 :data:`BANDS`, ``"65+", "75+"``,
    ``area_code, survey_date, synthetic`` and ``geometry`` (the representative point: the
    mesh cell centre or the town's point). Mesh cell polygons: :func:`cell_polygons`.

    Raises
    ------
    DataUnavailable
        No such dataset is loaded (the message lists the loaded ones).
    """
    rows = session.execute(
        select(
            PopulationUnit.key,
            PopulationUnit.name,
            PopulationUnit.kind,
            PopulationUnit.total,
            PopulationUnit.bands,
            PopulationUnit.area_code,
            PopulationUnit.survey_date,
            PopulationUnit.properties,
            PopulationUnit.lon,
            PopulationUnit.lat,
        )
        .where(PopulationUnit.dataset == dataset)
        .order_by(PopulationUnit.key)
    ).all()
    if not rows:
        loaded = ", ".join(d["dataset"] for d in population_datasets(session)) or "none"
        raise DataUnavailable(
            f"population dataset {dataset!r} is not loaded (loaded: {loaded}); "
            "load one with `mapsvc population import FILE`"
        )
    if not area_only:
        rows = [r for r in rows if r.lon is not None]
        if not rows:
            raise DataUnavailable(
                f"population dataset {dataset!r} has only area-only units (no points): load "
                "town areas or a gazetteer and import it again for distance analyses"
            )
    bands = np.array([[r.bands[b] for b in BANDS] for r in rows], dtype=np.int64)
    frame = pd.DataFrame(
        {
            "key": [r.key for r in rows],
            "name": [r.name for r in rows],
            "kind": [r.kind for r in rows],
            "total": np.array([r.total for r in rows], dtype=np.int64),
        }
    )
    for i, band in enumerate(BANDS):
        frame[band] = bands[:, i]
    frame["65+"] = bands[:, [BANDS.index(b) for b in OLDER_BANDS]].sum(axis=1)
    frame["75+"] = bands[:, [BANDS.index(b) for b in VERY_OLD_BANDS]].sum(axis=1)
    frame["area_code"] = [r.area_code for r in rows]
    frame["survey_date"] = [r.survey_date for r in rows]
    frame["synthetic"] = [bool((r.properties or {}).get("synthetic")) for r in rows]
    frame["municipality_code"] = [(r.properties or {}).get("municipality_code") for r in rows]
    frame["placeable"] = [r.lon is not None for r in rows]
    points = [None if r.lon is None else shapely.Point(r.lon, r.lat) for r in rows]
    return gpd.GeoDataFrame(frame, geometry=points, crs="EPSG:4326")


def cell_polygons(keys: Any) -> gpd.GeoSeries:
    """JIS X 0410 mesh cell polygons (EPSG:4326) for mesh codes or a population frame.

    Parameters
    ----------
    keys
        Mesh codes (strings or ints), or a frame from :func:`population_frame` of a mesh
        dataset (its ``key`` column; the result keeps the frame's index).

    Raises
    ------
    InvalidInput
        A key is not a mesh code.
    """
    import jismesh.utils as ju

    index = keys.index if isinstance(keys, pd.DataFrame) else None
    codes = list(keys["key"]) if isinstance(keys, pd.DataFrame) else list(keys)
    if not codes:
        return gpd.GeoSeries([], crs="EPSG:4326")
    try:
        arr = np.array([int(str(c)) for c in codes], dtype=np.int64)
        south, west = ju.to_meshpoint(arr, 0.0, 0.0)
        north, east = ju.to_meshpoint(arr, 1.0, 1.0)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"not JIS X 0410 mesh codes ({exc})", field="key") from None
    boxes = shapely.box(np.asarray(west), np.asarray(south), np.asarray(east), np.asarray(north))
    return gpd.GeoSeries(boxes, index=index, crs="EPSG:4326")


def dataset_has_units(session: Session, dataset: str) -> bool:
    """Is ``dataset`` loaded?"""
    return bool(
        session.scalar(
            select(func.count())
            .select_from(PopulationUnit)
            .where(PopulationUnit.dataset == dataset)
        )
    )
