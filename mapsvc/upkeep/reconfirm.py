"""The re-confirmation cycle: which providers get survey links, and the lists to send.

Every record is due for re-confirmation ``RECONFIRM_MONTHS`` after it was last confirmed
(:mod:`mapsvc.core.staleness`). The editor selects providers by type, area, due state or id
(:func:`select_providers`), issues links (:func:`mapsvc.upkeep.survey.issue_links`) and sends
them by mail merge or FAX from a CSV (:func:`links_csv`, :func:`due_csv`). The CSVs hold
live links and professional contact details (FAX, e-mail): editors only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mapsvc.core._csv import csv_text
from mapsvc.core.codes import normalise_municipality_code
from mapsvc.core.errors import InvalidInput
from mapsvc.core.models import Area, Provider, SurveyToken, utcnow
from mapsvc.core.staleness import DUE, UNCONFIRMED, confirmation_state, confirmed_date, state_label
from mapsvc.upkeep.survey import IssuedLink, active_clause, active_links, issue_links


def select_providers(
    session: Session,
    *,
    types: Sequence[str] = (),
    area: str | None = None,
    due_only: bool = False,
    uids: Sequence[str] = (),
    config: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> list[Provider]:
    """Providers to send links to: by type, area, due for re-confirmation, or by id.

    Parameters
    ----------
    types
        Provider type keys (empty = all).
    area
        A 全国地方公共団体コード (5 or 6 digits), or an area of the store's ``areas``
        table as ``CODE`` or ``KIND:CODE`` (providers located inside its polygon).
    due_only
        Only records due for re-confirmation or unconfirmed (``config`` gives the periods).
    uids
        Only these provider ids (unknown ids are an error naming them).

    Raises
    ------
    InvalidInput
        Unknown area or provider id.
    """
    now = now or utcnow()
    stmt = (
        select(Provider).where(Provider.status != "closed").order_by(Provider.type, Provider.name)
    )
    if types:
        stmt = stmt.where(Provider.type.in_(list(types)))
    if uids:
        stmt = stmt.where(Provider.uid.in_(list(uids)))
    providers = list(session.scalars(stmt))
    if uids:
        missing = sorted(set(uids) - {p.uid for p in providers})
        if missing:
            raise InvalidInput(f"no provider with id {', '.join(missing)}", field="provider")
    if area:
        providers = _in_area(session, providers, area)
    if due_only:
        cfg = config or {}
        providers = [
            p
            for p in providers
            if confirmation_state(
                {"confirmed_at": p.confirmed_at, "created_at": p.created_at}, now, cfg
            )
            in (DUE, UNCONFIRMED)
        ]
    return providers


def _in_area(session: Session, providers: list[Provider], area: str) -> list[Provider]:
    text = area.strip()
    kind, _, code = text.rpartition(":")
    if not kind and code.isdigit() and len(code) in (5, 6):
        try:
            municipality = normalise_municipality_code(code)
        except ValueError as exc:
            raise InvalidInput(f"area {area!r}: {exc}", field="area") from None
        return [p for p in providers if p.municipality_code == municipality]
    stmt = select(Area).where(Area.code == code)
    if kind:
        stmt = stmt.where(Area.kind == kind)
    found = list(session.scalars(stmt))
    if not found:
        raise InvalidInput(
            f"no area with code {area!r} (a municipality code or an imported area, KIND:CODE)",
            field="area",
        )
    if len(found) > 1:
        kinds = ", ".join(f"{a.kind}:{a.code}" for a in found)
        raise InvalidInput(f"area code {code!r} is ambiguous; use one of {kinds}", field="area")
    if not found[0].geometry:
        raise InvalidInput(f"area {area!r} has no boundary", field="area")
    from shapely import points
    from shapely.geometry import shape
    from shapely.prepared import prep

    polygon = prep(shape(found[0].geometry))
    located = [p for p in providers if p.lon is not None and p.lat is not None]
    pts = points([(p.lon, p.lat) for p in located]) if located else []
    return [p for p, pt in zip(located, pts, strict=True) if polygon.contains(pt)]


@dataclass
class DueRow:
    """A record due for re-confirmation, with its survey link (None if not issued)."""

    provider: Provider
    state: str
    link: IssuedLink | None


def due_links(
    session: Session,
    *,
    secret_key: str,
    base_url: str,
    actor: str,
    days: int,
    config: Mapping[str, Any],
    types: Sequence[str] = (),
    area: str | None = None,
    issue_missing: bool = True,
    now: datetime | None = None,
) -> list[DueRow]:
    """Records due for re-confirmation (or unconfirmed) with their survey links.

    A record that already has an active link keeps it (the link is printed again);
    the others get a new one when ``issue_missing`` (the default).
    """
    now = now or utcnow()
    providers = select_providers(
        session, types=types, area=area, due_only=True, config=config, now=now
    )
    existing = {
        link.provider_uid: link
        for link in active_links(
            session,
            secret_key=secret_key,
            base_url=base_url,
            now=now,
            provider_ids=[p.id for p in providers],
        )
    }
    missing = [p for p in providers if p.uid not in existing]
    if issue_missing and missing:
        for link in issue_links(
            session,
            missing,
            secret_key=secret_key,
            base_url=base_url,
            actor=actor,
            days=days,
            now=now,
        ):
            existing[link.provider_uid] = link
    return [
        DueRow(
            p,
            confirmation_state(
                {"confirmed_at": p.confirmed_at, "created_at": p.created_at}, now, config
            ),
            existing.get(p.uid),
        )
        for p in providers
    ]


def _jst_day(moment: datetime) -> str:
    day = confirmed_date({"confirmed_at": moment})
    return day.isoformat() if day else ""


LINK_COLUMNS = (
    ("provider_id", "事業所ID"),
    ("name", "名称"),
    ("type", "種別"),
    ("address", "所在地"),
    ("fax", "FAX"),
    ("email", "メール"),
    ("contact_person", "担当者"),
    ("url", "回答用URL"),
    ("expires", "有効期限"),
    ("token_id", "リンクID"),
)


def links_csv(links: Iterable[IssuedLink], type_labels: Mapping[str, str] | None = None) -> str:
    """The link list as CSV text for mail merge or FAX (write it as UTF-8 with BOM).

    Columns: provider_id, name, type (Japanese label when given), address, fax, email,
    contact_person, url, expires (YYYY-MM-DD, Japan time), token_id. The first row holds the
    keys, so mail-merge fields have plain names.
    """
    labels = type_labels or {}
    rows = [
        [
            link.provider_uid,
            link.name,
            labels.get(link.type, link.type),
            link.address or "",
            link.fax or "",
            link.email or "",
            link.contact_person or "",
            link.url,
            _jst_day(link.expires_at),
            link.token_id,
        ]
        for link in links
    ]
    return csv_text([[key for key, _ in LINK_COLUMNS], *rows])


DUE_COLUMNS = (
    "provider_id",
    "name",
    "type",
    "address",
    "fax",
    "email",
    "contact_person",
    "state",
    "last_confirmed",
    "confirmed_by",
    "url",
    "expires",
    "token_id",
)


def due_csv(rows: Iterable[DueRow], type_labels: Mapping[str, str] | None = None) -> str:
    """The due list as CSV text (write it as UTF-8 with BOM): who to ask, and their link.

    ``state`` is 再確認待ち or 未確認; ``last_confirmed`` the date (Japan time) or empty.
    """
    labels = type_labels or {}
    out: list[Sequence[str]] = [DUE_COLUMNS]
    for row in rows:
        p = row.provider
        day = confirmed_date({"confirmed_at": p.confirmed_at})
        out.append(
            [
                p.uid,
                p.name,
                labels.get(p.type, p.type),
                p.address or "",
                p.fax or "",
                p.email or "",
                p.contact_person or "",
                state_label(row.state),
                day.isoformat() if day else "",
                p.confirmed_by or "",
                row.link.url if row.link else "",
                _jst_day(row.link.expires_at) if row.link else "",
                row.link.token_id if row.link else "",
            ]
        )
    return csv_text(out)


def provider_list(
    session: Session,
    *,
    query: str = "",
    provider_type: str | None = None,
    state: str | None = None,
    config: Mapping[str, Any],
    now: datetime | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Providers for the editor's list: id or part of the name, type, confirmation state.

    Each row has ``uid, name, type, address, confirmed_at, confirmed_by, state`` and
    ``link_expires`` (the active survey link's expiry, or None).
    """
    now = now or utcnow()
    stmt = select(Provider).order_by(Provider.name, Provider.id)
    text = query.strip()
    if text:
        stmt = stmt.where((Provider.uid == text) | Provider.name.contains(text))
    if provider_type:
        stmt = stmt.where(Provider.type == provider_type)
    chosen: list[tuple[Provider, str]] = []
    # the state is derived in Python, so with a state filter read on (in batches) until
    # ``limit`` records match, however far down the list they are
    result = session.scalars(stmt.execution_options(yield_per=1000) if state else stmt.limit(limit))
    for p in result:
        current = confirmation_state(
            {"confirmed_at": p.confirmed_at, "created_at": p.created_at}, now, config
        )
        if state and current != state:
            continue
        chosen.append((p, current))
        if len(chosen) == limit:
            break
    result.close()
    links = dict(
        session.execute(
            select(SurveyToken.provider_id, func.max(SurveyToken.expires_at))
            .where(SurveyToken.provider_id.in_([p.id for p, _ in chosen]), active_clause(now))
            .group_by(SurveyToken.provider_id)
        ).all()
    )
    return [
        {
            "uid": p.uid,
            "name": p.name,
            "type": p.type,
            "address": p.address,
            "confirmed_at": p.confirmed_at,
            "confirmed_by": p.confirmed_by,
            "state": current,
            "link_expires": links.get(p.id),
        }
        for p, current in chosen
    ]
