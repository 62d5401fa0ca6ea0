"""Providers from the store as a GeoDataFrame: the input of the in-process index and of
the planner's coverage computations (both back-ends behave the same)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from mapsvc.core.models import Provider
from mapsvc.core.registry import CONTENT_FIELDS

# Every stored content field but the geocoder's name and the source's extra columns.
FRAME_COLUMNS: tuple[str, ...] = (
    "id",
    "uid",
    "source",
    "source_id",
    *(f for f in CONTENT_FIELDS if f not in ("geocoder", "extra")),
    "capabilities",
    "updated_at",
    "created_at",  # never-confirmed records count from here (mapsvc.core.staleness)
)


def load_providers_frame(
    session: Session, *, located_only: bool = True, where: Any = None
) -> gpd.GeoDataFrame:
    """Every provider (with a location, by default) as a GeoDataFrame in EPSG:4326.

    Columns are :data:`FRAME_COLUMNS`; ``capabilities`` and ``service_area`` hold the
    stored JSON (dicts). Providers without coordinates are left out unless
    ``located_only`` is False (their geometry is then empty).
    """
    cols = [getattr(Provider, c) for c in FRAME_COLUMNS]
    stmt = select(*cols)
    if located_only:
        stmt = stmt.where(Provider.lon.is_not(None), Provider.lat.is_not(None))
    if where is not None:
        stmt = stmt.where(where)
    rows = session.execute(stmt).all()
    df = pd.DataFrame.from_records(rows, columns=list(FRAME_COLUMNS))
    lon = df["lon"].to_numpy(dtype=float) if len(df) else np.array([], dtype=float)
    lat = df["lat"].to_numpy(dtype=float) if len(df) else np.array([], dtype=float)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
