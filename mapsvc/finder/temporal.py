"""The ``datetime`` parameter of the layer API (OGC API - Features Part 1, 7.15.4) and the
layers' temporal extent.

The temporal property is the record's **last confirmation** (``confirmed_at``, 最終確認日):
``datetime=2025-04-01T00:00:00Z/..`` gives the providers confirmed since then. A provider
never confirmed (未確認) has no time and matches no ``datetime`` filter. Accepted values:

- an instant, RFC 3339 with an offset (``2025-04-01T09:00:00+09:00``, ``…Z``): records
  confirmed at that second, the offset as given;
- a date alone (``2025-04-01``): that whole day **in Japan** (Asia/Tokyo, +09:00, no
  daylight saving) — the municipality's day, the one 最終確認日 shows — i.e.
  ``2025-03-31T15:00:00Z`` to ``2025-04-01T14:59:59Z``;
- a closed interval ``START/END`` (ends included; a date as START begins at 00:00 in Japan,
  a date as END runs to 23:59:59 in Japan);
- a half-bounded interval ``START/..`` or ``../END`` (an empty end counts as ``..``).

Anything else (no offset, ``../..``, START after END) is a 400 naming ``datetime``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mapsvc.core.errors import InvalidInput
from mapsvc.core.staleness import JST

if TYPE_CHECKING:
    from mapsvc.finder.index import ProviderIndex

_DATE = r"\d{4}-\d{2}-\d{2}"
_DATE_TIME = re.compile(rf"^{_DATE}[Tt ]\d{{2}}:\d{{2}}:\d{{2}}(\.\d+)?([Zz]|[+-]\d{{2}}:\d{{2}})$")
_DATE_ONLY = re.compile(rf"^{_DATE}$")
_OPEN = ("", "..")
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


@dataclass(frozen=True)
class Period:
    """Inclusive bounds (naive UTC, whole seconds); None = open."""

    start: datetime | None
    end: datetime | None

    def mask(self, times: np.ndarray) -> np.ndarray:
        """Which of ``times`` (``datetime64[s]``, NaT = none) fall inside."""
        keep: np.ndarray = ~np.isnat(times)
        if self.start is not None:
            keep &= times >= np.datetime64(self.start, "s")
        if self.end is not None:
            keep &= times <= np.datetime64(self.end, "s")
        return keep


def _bad(message: str) -> InvalidInput:
    return InvalidInput(f"datetime: {message}", field="datetime")


def _moment(text: str) -> tuple[datetime, datetime]:
    """The first and last second (naive UTC) ``text`` names: equal for a date-time, the
    day in Japan for a date."""
    # an unescaped "+09:00" in a URL arrives as " 09:00" (form decoding): unambiguous
    text = re.sub(r"(:\d{2}(?:\.\d+)?) (\d{2}:\d{2})$", r"\1+\2", text)
    if _DATE_ONLY.match(text):
        try:
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=JST)
        except ValueError:
            raise _bad(f"{text!r} is not a calendar date") from None
        first = day.astimezone(UTC).replace(tzinfo=None)
        return first, first + timedelta(days=1, seconds=-1)
    if not _DATE_TIME.match(text):
        raise _bad(
            f"{text!r} is not an RFC 3339 date-time with an offset "
            "(e.g. 2025-04-01T00:00:00Z or 2025-04-01T09:00:00+09:00) or a date (2025-04-01)"
        )
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    except ValueError:
        raise _bad(f"{text!r} is not a valid date-time") from None
    moment = moment.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    return moment, moment


def parse_datetime(text: str | None) -> Period | None:
    """The ``datetime`` value as a :class:`Period`, or None when absent.

    Raises
    ------
    InvalidInput
        ``field="datetime"``: not an instant or interval of the forms above.
    """
    if text is None or text.strip() == "":
        return None
    text = text.strip()
    if "/" not in text:
        if text == "..":
            raise _bad("'..' is only an interval's open end (e.g. 2025-04-01T00:00:00Z/..)")
        first, last = _moment(text)
        return Period(first, last)
    parts = text.split("/")
    if len(parts) != 2:
        raise _bad("an interval is START/END, with one '/'")
    left, right = (p.strip() for p in parts)
    if left in _OPEN and right in _OPEN:
        raise _bad("an interval needs at least one end (START/.. or ../END)")
    start = None if left in _OPEN else _moment(left)[0]
    end = None if right in _OPEN else _moment(right)[1]
    if start is not None and end is not None and start > end:
        raise _bad("the interval's start is after its end")
    return Period(start, end)


def confirmed_times(index: ProviderIndex) -> np.ndarray:
    """Every provider's ``confirmed_at`` as ``datetime64[s]`` (NaT: never confirmed), built
    once per index (a :class:`mapsvc.finder.index.ProviderIndex`; a mapped index has it
    from its file: decoding 300,000 records for one column takes seconds)."""
    if index.confirmed is not None:
        return np.asarray(index.confirmed)

    def build() -> np.ndarray:
        values = index.columns.get("confirmed_at") or [None] * len(index)
        stamps = pd.to_datetime(
            pd.Series(values, dtype=object), errors="coerce", utc=True, format="ISO8601"
        )
        return np.asarray(stamps.dt.tz_localize(None).to_numpy(dtype="datetime64[s]"))

    return index.memo("confirmed_times", build)  # type: ignore[no-any-return]


def temporal_extent(index: ProviderIndex, positions: np.ndarray) -> list[str] | None:
    """``[first, last]`` confirmation among ``positions`` (RFC 3339, UTC), or None."""
    times = confirmed_times(index)[positions]
    times = times[~np.isnat(times)]
    if times.size == 0:
        return None
    return [f"{np.datetime_as_string(v, unit='s')}Z" for v in (times.min(), times.max())]


def japan_day(stamp: str) -> str:
    """An RFC 3339 instant of the temporal extent as the date it is in Japan (YYYY-MM-DD)."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment.astimezone(JST).date().isoformat()
