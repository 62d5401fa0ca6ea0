"""Issue 11 item 5: a snapshot at date D counts the registry as of D (from the audit log).

Before, `mapsvc indicators --snapshot --date 2025-04-01` counted today's providers, so a
year-over-year comparison compared today with today.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from conftest import run_cli
from planner_support import add_area, add_population, add_providers, uniform_population
from sqlalchemy import select, update

from mapsvc.core.models import AuditEntry, Provider
from mapsvc.core.registry import Change, apply_changes, diff, existing_by_uid
from mapsvc.core.registry_history import providers_as_of

HOME = {"home_visit_medical": {"level": "accept"}}
PAST = datetime(2025, 1, 6, 9, 0)


def _backdate(services, when: datetime) -> None:
    """Everything in the store so far happened at ``when``."""
    with services.store.session() as s:
        s.execute(update(AuditEntry).values(at=when))
        s.execute(update(Provider).values(created_at=when, updated_at=when))


def _change(services, uid: str, incoming: dict, actor: str = "editor") -> None:
    with services.store.session() as s:
        current = existing_by_uid(s, [uid])[uid]
        before, after = diff(current, incoming)
        apply_changes(s, [Change(current["id"], uid, before, after, current)], actor=actor,
                      action="review.approve")  # fmt: skip


@pytest.fixture
def history_store(services):
    a, b = add_providers(
        services,
        [
            {"dx": 0, "dy": 0, "name": "古い診療所", "capabilities": HOME},
            {"dx": 300, "dy": 300, "name": "変わる診療所", "capabilities": {}},
        ],
    )
    _backdate(services, PAST)
    add_population(services, "grid", uniform_population(50, 400, seed=2))
    add_area(services, "municipality", "372013", "高松市", -1000, 2000)
    # after D: a new clinic, a capability added to b, a's answer changed
    (c,) = add_providers(
        services, [{"dx": 600, "dy": 0, "name": "新しい診療所", "capabilities": HOME,
                    "source_id": "new"}], source="later",
    )  # fmt: skip
    _change(services, b, {"capabilities": HOME})
    _change(services, a, {"capabilities": {"home_visit_medical": {"level": "consult"}}})
    return services, (a, b, c)


def test_registry_as_of_a_date_undoes_later_changes(history_store) -> None:
    services, (a, b, c) = history_store
    with services.store.session() as s:
        then = providers_as_of(s, "2025-04-01").set_index("uid")
        now = providers_as_of(s, date.today()).set_index("uid")
        before_any = providers_as_of(s, "2024-12-31")
    assert sorted(then.index) == sorted([a, b])  # c was created after D
    assert then.loc[a, "capabilities"] == HOME  # its later answer undone
    assert then.loc[b, "capabilities"] == {}  # the capability added after D is not there
    assert sorted(now.index) == sorted([a, b, c])
    assert now.loc[a, "capabilities"] == {"home_visit_medical": {"level": "consult"}}
    assert now.loc[b, "capabilities"] == HOME
    assert len(before_any) == 0  # nothing existed before the first import


def test_registry_as_of_keeps_a_provider_deleted_after_the_date(history_store) -> None:
    services, (a, _b, _c) = history_store
    with services.store.session() as s:
        row = s.scalar(select(Provider).where(Provider.uid == a))
        record = {k: getattr(row, k) for k in ("type", "name", "lon", "lat", "status")}
        record["capabilities"] = dict(row.capabilities)
        s.add(AuditEntry(actor="editor", action="provider.delete", entity="provider",
                         entity_id=a, before=record, after=None))  # fmt: skip
        s.delete(row)
    with services.store.session() as s:
        then = providers_as_of(s, "2025-04-01")
        now = providers_as_of(s, date.today())
    assert a in set(then["uid"]) and a not in set(now["uid"])
    assert then.set_index("uid").loc[a, "name"] == "古い診療所"


def test_snapshot_of_a_past_date_counts_that_dates_providers(history_store, runner) -> None:
    services, _ = history_store
    today = date.today().isoformat()
    for day in ("2025-04-01", today):
        result = run_cli(runner, services, "indicators", "--snapshot", "--date", day, "--json")
        assert result.exit_code == 0, result.output
    out = run_cli(
        runner, services, "indicators", "--compare", "2025-04-01", today, "--json",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    rows = {r["indicator"]: r for r in json.loads(out.stdout) if r["area_code"] == "372013"}
    clinics = rows["count:type:clinic"]
    assert (clinics["value_1"], clinics["value_2"], clinics["change"]) == (2, 3, 1)
    home = rows["count:cap:home_visit_medical"]  # a and (after D) b and c
    assert (home["value_1"], home["value_2"]) == (1, 3)
    bad = run_cli(runner, services, "indicators", "--snapshot", "--date", "2025-13-01")
    assert bad.exit_code == 1 and "is not a date" in bad.output
