"""`mapsvc survey ...`, `mapsvc review ...` and `mapsvc import --review`, as an editor runs them."""

from __future__ import annotations

import csv
import io
import json

from conftest import run_cli
from survey_support import add_provider, record, set_columns, submissions

from mapsvc.upkeep.survey import resolve


def _csv(path):
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_issue_links_by_type_to_a_mail_merge_csv(services, runner, tmp_path):
    clinic = add_provider(services, "C", fax="087-000-1234")
    add_provider(services, "P", type="pharmacy", name="薬局")
    out = tmp_path / "links.csv"
    result = run_cli(
        runner,
        services,
        "survey",
        "issue",
        "--type",
        "clinic",
        "--base-url",
        "https://map.example.jp",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "1 link(s) issued" in result.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    [row] = _csv(out)
    assert row["provider_id"] == clinic and row["type"] == "診療所" and row["fax"] == "087-000-1234"
    # the link verifies with the instance's secret key (generated once, shared with the app)
    key = (services.instance_path / "secret_key").read_text().strip()
    signed = row["url"].rsplit("/", 1)[1]
    with services.store.session() as session:
        assert resolve(session, key, signed)[1].uid == clinic
    listed = run_cli(runner, services, "survey", "list", "--json")
    assert json.loads(listed.output)[0]["status"] == "active"
    revoked = run_cli(runner, services, "survey", "revoke", "--token", row["token_id"])
    assert "1 link(s) revoked" in revoked.output
    listed = run_cli(runner, services, "survey", "list", "--status", "revoked")
    assert row["token_id"] in listed.output


def test_unknown_type_and_area_are_clear_errors(services, runner):
    result = run_cli(runner, services, "survey", "issue", "--type", "spa", "--base-url", "http://x")
    assert result.exit_code == 2 and "unknown provider type 'spa'" in result.output
    result = run_cli(runner, services, "survey", "issue", "--area", "X9", "--base-url", "http://x")
    assert result.exit_code == 1 and "no area with code 'X9'" in result.output


def test_link_validity_out_of_range_is_a_clear_error(services, runner):
    add_provider(services, "C")
    for days in ("0", "400"):
        result = run_cli(
            runner, services, "survey", "issue", "--days", days, "--base-url", "http://x"
        )
        assert result.exit_code == 1, result.output
        assert f"days {days} must be a whole number from 1 to 365" in result.output


def test_due_list_issues_links_for_due_records(services, runner, tmp_path):
    due = add_provider(services, "D")
    fresh = add_provider(services, "F")
    from mapsvc.core.models import utcnow

    set_columns(services, fresh, confirmed_at=utcnow())
    out = tmp_path / "due.csv"
    result = run_cli(
        runner, services, "survey", "due", "--base-url", "https://m.example.jp", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    [row] = _csv(out)
    assert row["provider_id"] == due and row["state"] == "再確認待ち"
    assert row["url"].startswith("https://m.example.jp/survey/")


def test_template_import_review_and_approve_from_the_command_line(services, runner, tmp_path):
    uid = add_provider(services, "C", capabilities={"ventilator": {"level": "no"}})
    path = tmp_path / "clinic.csv"
    result = run_cli(runner, services, "survey", "template", "--type", "clinic", "--out", str(path))
    assert result.exit_code == 0 and "1 clinic provider(s)" in result.output
    text = path.read_text(encoding="utf-8-sig").replace(",不可,", ",受入,", 1)
    path.write_bytes(text.encode("utf-8-sig"))
    result = run_cli(runner, services, "import", str(path), "--review", "--actor", "editor")
    assert result.exit_code == 0, result.output
    assert "1 queued for review" in result.output and "nothing was changed" in result.output
    assert record(services, uid)["capabilities"]["ventilator"] == {"level": "no"}
    listed = run_cli(runner, services, "review", "list")
    assert "人工呼吸器: 不可 → 受入" in listed.output
    [sub] = submissions(services, uid)
    result = run_cli(runner, services, "review", "approve", str(sub.id), "--actor", "editor")
    assert "approved: 1 value(s) changed" in result.output
    assert record(services, uid)["capabilities"]["ventilator"] == {"level": "accept"}
    again = run_cli(runner, services, "review", "approve", str(sub.id), "--actor", "editor")
    assert again.exit_code == 1 and "already approved" in again.output


def test_reject_from_the_command_line(services, runner, tmp_path):
    uid = add_provider(services, "C")
    path = tmp_path / "c.csv"
    run_cli(runner, services, "survey", "template", "--type", "clinic", "--out", str(path))
    # signed but unchanged: a confirmation (an unsigned, unchanged row is not queued)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    rows[2][rows[1].index("respondent_name")] = "高松太郎"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    path.write_bytes(out.getvalue().encode("utf-8-sig"))
    run_cli(runner, services, "import", str(path), "--review")
    [sub] = submissions(services, uid)
    result = run_cli(
        runner, services, "review", "reject", str(sub.id), "--reason", "重複", "--actor", "ed"
    )
    assert result.exit_code == 0 and "rejected" in result.output
    assert submissions(services, uid)[0].reason == "重複"
