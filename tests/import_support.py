"""Helpers for importer tests: run an import and read records back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from mapsvc.core.models import AuditEntry, Provider
from mapsvc.core.registry import provider_record
from mapsvc.core.services import Services
from mapsvc.ingest.importer import ImportReport, import_file

DATA = Path(__file__).resolve().parent / "data"


def run_import(services: Services, path: Path | str, tmp_path: Path, **kwargs: Any) -> ImportReport:
    path = Path(path)
    kwargs.setdefault("rejects_path", tmp_path / f"{path.stem}.rejects.csv")
    return import_file(
        services.store, path, services.taxonomy, instance_path=services.instance_path, **kwargs
    )


def records(services: Services, source: str | None = None) -> dict[str, dict[str, Any]]:
    """Records keyed by source id."""
    with services.store.session() as session:
        stmt = select(Provider)
        if source:
            stmt = stmt.where(Provider.source == source)
        return {p.source_id: provider_record(p) for p in session.scalars(stmt)}


def snapshot(services: Services) -> tuple[int, int, list[tuple[Any, ...]]]:
    """Counts and content of the registry, to show a failed import changed nothing."""
    with services.store.session() as session:
        providers = session.scalar(select(func.count()).select_from(Provider))
        audits = session.scalar(select(func.count()).select_from(AuditEntry))
        rows = session.execute(
            select(Provider.uid, Provider.name, Provider.updated_at).order_by(Provider.uid)
        ).all()
    return providers or 0, audits or 0, [tuple(r) for r in rows]


def read_rejects(path: Path) -> list[dict[str, str]]:
    """Rows of a rejects CSV (UTF-8 with BOM)."""
    import csv
    import io

    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
