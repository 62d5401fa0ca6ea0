"""How current a provider record is: confirmed, due for re-confirmation, or unconfirmed.

Resource directories abroad verify every record yearly (FORMATS.md 3.7). mapsvc keeps
``confirmed_at``/``confirmed_by`` on each record (set when an editor approves a provider's
self-update or a returned survey) and derives one of three states from it:

``confirmed``
    confirmed within the last ``RECONFIRM_MONTHS`` (default 12).
``due``
    due for re-confirmation: last confirmed ``RECONFIRM_MONTHS`` ago or more, or never
    confirmed (but not yet long enough to be ``unconfirmed``).
``unconfirmed``
    not confirmed for ``UNCONFIRMED_MONTHS`` (default 24) or more. Every view marks such a
    record 「未確認」 (it is never silently hidden). A record that was never confirmed
    counts from ``created_at`` when the record carries it.

Everything here is pure: no store, no Flask. Views call :func:`confirmation_state` and
:func:`confirmation_badge` with the record they already hold and the app configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

CONFIRMED = "confirmed"
DUE = "due"
UNCONFIRMED = "unconfirmed"
STATES = (CONFIRMED, DUE, UNCONFIRMED)

# Dates are shown in Japan time (the store keeps naive UTC). Japan has no daylight saving.
JST = timezone(timedelta(hours=9), "JST")

_LABELS = {
    CONFIRMED: ("確認済み", "Confirmed"),
    DUE: ("再確認待ち", "Due for re-confirmation"),
    UNCONFIRMED: ("未確認", "Unconfirmed"),
}


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` shifted by whole calendar months (the day is clamped to the month's end).

    Parameters
    ----------
    moment
        A naive or aware datetime.
    months
        Months to add; negative to go back.

    Returns
    -------
    datetime
    """
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def as_datetime(value: Any) -> datetime | None:
    """A stored time as naive UTC: datetimes pass through, ISO strings are parsed.

    Aware datetimes are converted to UTC and made naive (the store's convention).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value != value:  # pandas NaT (a datetime that equals nothing): missing
            return None
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _setting(config: Mapping[str, Any], name: str, default: int) -> int:
    value = config.get(name, default)
    return default if value is None else int(value)


def confirmation_state(record: Mapping[str, Any], now: datetime, config: Mapping[str, Any]) -> str:
    """Classify a record as ``"confirmed"``, ``"due"`` or ``"unconfirmed"``.

    Parameters
    ----------
    record
        A provider record (``registry.provider_record``, a frame row as dict, or an
        index row) with ``confirmed_at`` (datetime, ISO string or None) and, optionally,
        ``created_at`` (used as the start for records that were never confirmed).
    now
        The current time, naive UTC (``mapsvc.core.models.utcnow()``).
    config
        Mapping with ``RECONFIRM_MONTHS`` and ``UNCONFIRMED_MONTHS`` (the app config or
        ``services.config``); defaults 12 and 24.

    Returns
    -------
    str
        One of :data:`STATES`.
    """
    reconfirm = _setting(config, "RECONFIRM_MONTHS", 12)
    unconfirmed = _setting(config, "UNCONFIRMED_MONTHS", 24)
    now = as_datetime(now) or now
    confirmed_at = as_datetime(record.get("confirmed_at"))
    if confirmed_at is None:
        created_at = as_datetime(record.get("created_at"))
        if created_at is not None and created_at <= add_months(now, -unconfirmed):
            return UNCONFIRMED
        return DUE
    if confirmed_at <= add_months(now, -unconfirmed):
        return UNCONFIRMED
    if confirmed_at <= add_months(now, -reconfirm):
        return DUE
    return CONFIRMED


def confirmed_date(record: Mapping[str, Any]) -> date | None:
    """The record's last confirmation as a calendar date in Japan time (None if never)."""
    moment = as_datetime(record.get("confirmed_at"))
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(JST).date()


def state_label(state: str, lang: str = "ja") -> str:
    """「確認済み」/「再確認待ち」/「未確認」 (or English)."""
    ja, en = _LABELS[state]
    return en if lang == "en" else ja


def confirmation_badge(
    record: Mapping[str, Any], now: datetime, config: Mapping[str, Any], lang: str = "ja"
) -> dict[str, Any]:
    """What a view shows about a record's currency, ready to render.

    Returns
    -------
    dict
        ``state`` (one of :data:`STATES`), ``label`` (「未確認」 …), ``date`` (ISO date
        of the last confirmation in Japan time, or None) and ``text``, e.g.
        「最終確認日 2026-04-01」 or 「未確認（最終確認日 2023-01-05）」.
    """
    state = confirmation_state(record, now, config)
    day = confirmed_date(record)
    iso = day.isoformat() if day else None
    if lang == "en":
        last = f"last confirmed {iso}" if iso else "never confirmed"
        text = f"Unconfirmed ({last})" if state == UNCONFIRMED else last.capitalize()
    else:
        last = f"最終確認日 {iso}" if iso else "確認記録なし"
        text = f"未確認（{last}）" if state == UNCONFIRMED else last
    return {"state": state, "label": state_label(state, lang), "date": iso, "text": text}


def cutoff(now: datetime, months: int) -> datetime:
    """The moment ``months`` before ``now``: records confirmed at or before it are older."""
    return add_months(now, -months)
