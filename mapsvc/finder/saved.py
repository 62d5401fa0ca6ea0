"""Saved shortlists: a professional keeps the providers and the conditions of a search,
reopens them, and shares them by link with another professional. No Flask.

What is kept: the provider ids (with each record's ``updated_at`` when saved, so a later
look can say "changed since"), the conditions (capability terms and types) and a title.
Never the patient's address or point — they are not passed in here at all.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mapsvc.core.errors import InvalidInput, NotFound
from mapsvc.core.filters import FilterSet
from mapsvc.core.models import Provider, Shortlist, User, utcnow

MAX_ITEMS = 200


@dataclass(frozen=True)
class SavedItem:
    uid: str
    name: str
    saved_at: datetime
    provider: Provider | None  # None: the record is gone
    changed: bool  # the record changed after the shortlist was saved

    @property
    def gone(self) -> bool:
        return self.provider is None or self.provider.status != "active"


def _stamp(value: datetime) -> str:
    return value.isoformat()


def save_shortlist(
    session: Session, owner_id: int, title: str, filters: FilterSet, uids: list[str]
) -> Shortlist:
    """Keep ``uids`` (in this order) and the conditions; returns the row (its id is the link)."""
    title = (title or "").strip()[:200]
    uids = list(dict.fromkeys(u for u in uids if u))[:MAX_ITEMS]
    if not uids:
        raise InvalidInput("choose at least one provider to save", field="uid")
    found = {p.uid: p for p in session.scalars(select(Provider).where(Provider.uid.in_(uids)))}
    missing = [u for u in uids if u not in found]
    if missing:
        raise InvalidInput(f"unknown provider {missing[0]!r}", field="uid")
    now = utcnow()
    row = Shortlist(
        id=secrets.token_urlsafe(18)[:24],
        owner_id=owner_id,
        title=title or now.strftime("%Y-%m-%d %H:%M"),
        conditions={"cap": filters.specs(), "type": list(filters.types)},
        items=[
            {"uid": u, "name": found[u].name, "updated_at": _stamp(found[u].updated_at)}
            for u in uids
        ],
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get_shortlist(session: Session, shortlist_id: str) -> tuple[Shortlist, str, list[SavedItem]]:
    """The shortlist, its owner's user name and its items with "changed since" flags."""
    row = session.get(Shortlist, str(shortlist_id)[:32])
    if row is None:
        raise NotFound("no such shortlist", field="shortlist")
    owner = session.get(User, row.owner_id)
    uids = [item["uid"] for item in row.items]
    current = {p.uid: p for p in session.scalars(select(Provider).where(Provider.uid.in_(uids)))}
    items = []
    for item in row.items:
        saved_at = datetime.fromisoformat(item["updated_at"])
        provider = current.get(item["uid"])
        changed = provider is None or provider.updated_at > saved_at
        items.append(SavedItem(item["uid"], item["name"], saved_at, provider, changed))
    return row, owner.username if owner else "?", items


def my_shortlists(session: Session, owner_id: int) -> list[Shortlist]:
    return list(
        session.scalars(
            select(Shortlist)
            .where(Shortlist.owner_id == owner_id)
            .order_by(Shortlist.created_at.desc())
        )
    )


def delete_shortlist(session: Session, shortlist_id: str, owner_id: int) -> None:
    row = session.get(Shortlist, str(shortlist_id)[:32])
    if row is None or row.owner_id != owner_id:
        raise NotFound("no such shortlist of yours", field="shortlist")
    session.delete(row)


def describe(row: Shortlist) -> dict[str, Any]:
    return {
        "cap": list(row.conditions.get("cap") or []),
        "type": list(row.conditions.get("type") or []),
    }
