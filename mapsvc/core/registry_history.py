"""The provider registry as it was on a past date, rebuilt from the audit log.

Every registry change writes an audit row with the changed fields before and after
(:mod:`mapsvc.core.registry`; capabilities per key). So the state of a provider at the end
of day D is its current record with every change audited after D undone, newest first:

* a provider whose creation (an audit row with no ``before``) is after D did not exist;
* a provider without any creation row counts from its ``created_at``;
* a provider deleted after D (an audit row with no ``after``; its ``before`` holds the
  record) is rebuilt from that row, one deleted on or before D is absent.

:func:`providers_as_of` gives the same frame as :func:`mapsvc.core.frames.load_providers_frame`
(``updated_at`` stays the current one: the log does not keep it). Dates are UTC days, like
the audit log's ``at``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from mapsvc.core.frames import FRAME_COLUMNS, load_providers_frame
from mapsvc.core.models import AuditEntry

_DATETIMES = ("confirmed_at", "created_at", "updated_at")


def _undo(record: dict[str, Any], before: dict[str, Any]) -> None:
    """Put back the fields an audit row's ``before`` holds (capabilities per key)."""
    for key, value in before.items():
        if key == "capabilities":
            caps = dict(record.get("capabilities") or {})
            for cap, old in (value or {}).items():
                if old is None:
                    caps.pop(cap, None)
                else:
                    caps[cap] = old
            record["capabilities"] = caps
        elif key in FRAME_COLUMNS and key not in ("id", "uid"):
            record[key] = _datetime(value) if key in _DATETIMES else value


def _datetime(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def providers_as_of(session: Session, day: date | str) -> gpd.GeoDataFrame:
    """Located providers as they were at the end of ``day`` (EPSG:4326 frame).

    Raises
    ------
    ValueError
        ``day`` is not a date (callers check it first and name the field).
    """
    day = date.fromisoformat(day) if isinstance(day, str) else day
    end = datetime.combine(day + timedelta(days=1), datetime.min.time())
    current = load_providers_frame(session, located_only=False)
    records: dict[str, dict[str, Any]] = {
        r["uid"]: r for r in current.drop(columns="geometry").to_dict("records")
    }
    later = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == "provider", AuditEntry.at >= end)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    ).all()
    gone: set[str] = set()
    spare = int(pd.to_numeric(current["id"]).max()) if len(current) else 0
    for entry in later:
        uid = entry.entity_id
        if entry.after is None and entry.before:  # deleted after the day: it was there
            spare += 1  # a deleted row's id is gone: any unused id will do
            records[uid] = {c: None for c in FRAME_COLUMNS} | {"uid": uid, "id": spare}
            _undo(records[uid], entry.before)
            gone.discard(uid)
        elif entry.before is None:  # created after the day
            gone.add(uid)
        elif uid in records:
            _undo(records[uid], entry.before)
    rows = [
        r
        for uid, r in records.items()
        if uid not in gone and not _created_after(r.get("created_at"), end)
    ]
    frame = pd.DataFrame.from_records(rows, columns=list(FRAME_COLUMNS))
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=float)
    located = np.isfinite(lon) & np.isfinite(lat)
    frame = frame[located].reset_index(drop=True)
    frame["lon"], frame["lat"] = lon[located], lat[located]
    return gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(lon[located], lat[located]), crs="EPSG:4326"
    )


def _created_after(created: Any, end: datetime) -> bool:
    if created is None or (isinstance(created, float) and np.isnan(created)):
        return False
    stamp = pd.Timestamp(created)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(None)
    return bool(stamp >= pd.Timestamp(end))
