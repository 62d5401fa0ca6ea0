"""Who sees what (DESIGN.md section 5), decided in one place.

Every view, API response and export reduces provider records through
:func:`reduce_record`. The audience of each field and capability comes from the
taxonomy data. The public gets public fields and the list of public capabilities a
provider offers — never an acceptance level, a note or a professional field.
"""

from __future__ import annotations

from typing import Any

from mapsvc.core.taxonomy import Taxonomy

PUBLIC = "public"
PROFESSIONAL = "professional"


def audience_for_role(role: str | None) -> str:
    """Anonymous callers are the public; every logged-in role sees professional fields."""
    return PROFESSIONAL if role in ("professional", "planner", "editor") else PUBLIC


def reduce_record(record: dict[str, Any], audience: str, taxonomy: Taxonomy) -> dict[str, Any]:
    """A copy of ``record`` holding only what ``audience`` may see.

    Parameters
    ----------
    record
        A provider record (``registry.provider_record`` or an index row).
    audience
        ``"public"`` or ``"professional"``.
    taxonomy
        Field and capability audiences.

    Returns
    -------
    dict
        Public: public fields, and ``capabilities`` as a sorted list of offered public
        capability keys. Professional: every taxonomy field, and ``capabilities`` as
        ``{key: {"level"|"value", "note"}}``.
    """
    caps = record.get("capabilities") or {}
    if audience == PROFESSIONAL:
        out = {k: record.get(k) for k in taxonomy.fields if k in record}
        out["capabilities"] = {
            k: dict(v) for k, v in caps.items() if k in taxonomy.capabilities and v
        }
        return out
    out = {k: record.get(k) for k in taxonomy.public_fields() if k in record}
    out["capabilities"] = sorted(
        k
        for k, v in caps.items()
        if k in taxonomy.capabilities
        and taxonomy.capabilities[k].audience == PUBLIC
        and taxonomy.offers(k, v)
    )
    return out


def professional_only_names(taxonomy: Taxonomy) -> set[str]:
    """Field and capability keys that must never reach the public (for tests and checks)."""
    return set(taxonomy.professional_fields()) | {
        k for k, c in taxonomy.capabilities.items() if c.audience == PROFESSIONAL
    }
