"""`mapsvc survey ...` (links, templates, due list) and `mapsvc review ...` (the queue)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mapsvc.core._csv import BOM_ENCODING
from mapsvc.core.config import ensure_secret_key
from mapsvc.core.services import Services


def _write(out: Path | None, text: str) -> None:
    """CSV text to a file (UTF-8 with BOM, for Excel and mail merge) or to stdout."""
    if out is None:
        click.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(text.encode(BOM_ENCODING))


def _days(services: Services, days: int | None) -> int:
    """--days as given (0 is an error, not the default), else the configured validity."""
    return services.config["SURVEY_TOKEN_DAYS"] if days is None else days


def _type_labels(services: Services) -> dict[str, str]:
    return {k: t.label.ja for k, t in services.taxonomy.provider_types.items()}


_BASE_URL = click.option(
    "--base-url",
    required=True,
    help="Public address of this mapsvc site; links are <base-url>/survey/<token>.",
)
_DAYS = click.option(
    "--days",
    type=int,
    default=None,
    help="Days the links stay valid (default: MAPSVC_SURVEY_TOKEN_DAYS).",
)
_OUT = click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the CSV here (UTF-8 with BOM); default: standard output.",
)


@click.group("survey")
def survey() -> None:
    """Provider self-updates (追加調査): links, templates, re-confirmation."""


@survey.command("issue")
@click.option("--type", "types", multiple=True, help="Provider type key (repeatable).")
@click.option("--area", help="Municipality code, or KIND:CODE of an imported area.")
@click.option("--due", is_flag=True, help="Only records due for re-confirmation.")
@click.option("--provider", "uids", multiple=True, help="Provider id (repeatable).")
@click.option(
    "--keep-old", is_flag=True, help="Keep providers' earlier links valid (default: revoke)."
)
@_DAYS
@_BASE_URL
@_OUT
@click.option("--actor", default="cli", show_default=True, help="Name recorded in the audit log.")
@click.pass_obj
def survey_issue(
    services: Services,
    types: tuple[str, ...],
    area: str | None,
    due: bool,
    uids: tuple[str, ...],
    keep_old: bool,
    days: int | None,
    base_url: str,
    out: Path | None,
    actor: str,
) -> None:
    """Issue survey links in batch; print or save them as a mail-merge / FAX CSV.

    The CSV holds live links and FAX numbers: keep it with the editors.
    """
    from mapsvc.upkeep.reconfirm import links_csv, select_providers
    from mapsvc.upkeep.survey import issue_links

    unknown = [t for t in types if t not in services.taxonomy.provider_types]
    if unknown:
        raise click.BadParameter(
            f"unknown provider type {unknown[0]!r}; expected one of "
            + ", ".join(services.taxonomy.provider_types),
            param_hint="--type",
        )
    services.store.upgrade()
    secret = ensure_secret_key(services.config)
    with services.store.session() as session:
        providers = select_providers(
            session, types=types, area=area, due_only=due, uids=uids, config=services.config
        )
        links = issue_links(
            session,
            providers,
            secret_key=secret,
            base_url=base_url,
            actor=actor,
            days=_days(services, days),
            replace=not keep_old,
        )
    _write(out, links_csv(links, _type_labels(services)))
    if out is not None:
        click.echo(f"{len(links)} link(s) issued; list written to {out}")


@survey.command("links")
@_BASE_URL
@_OUT
@click.pass_obj
def survey_links(services: Services, base_url: str, out: Path | None) -> None:
    """Print every active link again (e.g. to resend a FAX)."""
    from mapsvc.upkeep.reconfirm import links_csv
    from mapsvc.upkeep.survey import active_links

    secret = ensure_secret_key(services.config)
    with services.store.session() as session:
        links = active_links(session, secret_key=secret, base_url=base_url)
    _write(out, links_csv(links, _type_labels(services)))


@survey.command("due")
@click.option("--type", "types", multiple=True, help="Provider type key (repeatable).")
@click.option("--area", help="Municipality code, or KIND:CODE of an imported area.")
@click.option(
    "--no-issue", is_flag=True, help="Only list; do not issue links for records without one."
)
@_DAYS
@_BASE_URL
@_OUT
@click.option("--actor", default="cli", show_default=True, help="Name recorded in the audit log.")
@click.pass_obj
def survey_due(
    services: Services,
    types: tuple[str, ...],
    area: str | None,
    no_issue: bool,
    days: int | None,
    base_url: str,
    out: Path | None,
    actor: str,
) -> None:
    """Records due for re-confirmation (MAPSVC_RECONFIRM_MONTHS) with their survey links."""
    from mapsvc.upkeep.reconfirm import due_csv, due_links

    services.store.upgrade()
    secret = ensure_secret_key(services.config)
    with services.store.session() as session:
        rows = due_links(
            session,
            secret_key=secret,
            base_url=base_url,
            actor=actor,
            days=_days(services, days),
            config=services.config,
            types=types,
            area=area,
            issue_missing=not no_issue,
        )
    _write(out, due_csv(rows, _type_labels(services)))
    if out is not None:
        click.echo(f"{len(rows)} record(s) due for re-confirmation; list written to {out}")


@survey.command("revoke")
@click.option("--token", "token_id", help="Link id (token_id column of the link list).")
@click.option("--provider", "provider_uid", help="Revoke every active link of this provider.")
@click.option("--actor", default="cli", show_default=True, help="Name recorded in the audit log.")
@click.pass_obj
def survey_revoke(
    services: Services, token_id: str | None, provider_uid: str | None, actor: str
) -> None:
    """Withdraw a survey link (it stops working at once)."""
    from mapsvc.upkeep.survey import revoke

    with services.store.session() as session:
        count = revoke(session, actor=actor, token_id=token_id, provider_uid=provider_uid)
    click.echo(f"{count} link(s) revoked")


@survey.command("list")
@click.option("--status", type=click.Choice(["active", "expired", "revoked"]))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def survey_list(services: Services, status: str | None, as_json: bool) -> None:
    """List issued links (newest first) with their status."""
    from mapsvc.upkeep.survey import tokens_overview

    with services.store.session() as session:
        rows = tokens_overview(session, status=status)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, default=str))
        return
    for r in rows:
        click.echo(
            f"{r['token_id']}  {r['status']:8} {r['expires_at']:%Y-%m-%d}  {r['provider_uid']}  {r['name']}"
        )


@survey.command("template")
@click.option("--type", "provider_type", required=True, help="Provider type key, e.g. clinic.")
@click.option("--provider", "uids", multiple=True, help="Only these providers (repeatable).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write: .xlsx (with dropdowns) or .csv (UTF-8 with BOM).",
)
@click.pass_obj
def survey_template(
    services: Services, provider_type: str, uids: tuple[str, ...], out: Path
) -> None:
    """Write a survey template for one provider type, pre-filled with current answers.

    Filled templates come back with `mapsvc import FILE --review`.
    """
    from mapsvc.upkeep.survey_templates import template_csv, template_records, template_xlsx

    build = template_xlsx if out.suffix.lower() == ".xlsx" else template_csv
    with services.store.session() as session:
        records = template_records(session, provider_type, uids)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(build(services.taxonomy, provider_type, records))
    click.echo(f"template for {len(records)} {provider_type} provider(s) written to {out}")


@click.group("review")
def review() -> None:
    """The review queue of provider self-updates."""


@review.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def review_list(services: Services, as_json: bool) -> None:
    """Pending submissions by provider, oldest first, with their changes."""
    from mapsvc.upkeep.review import review_queue

    with services.store.session() as session:
        groups = review_queue(session, services.taxonomy)
        out = [
            {
                "provider": g.provider["id"],
                "name": g.provider["name"],
                "submissions": [
                    {
                        "id": e.submission.id,
                        "submitted_at": e.submission.submitted_at.isoformat(timespec="seconds"),
                        "submitted_by": e.submission.submitted_by,
                        "origin": e.submission.origin,
                        "changes": [[r.label, r.before, r.after] for r in e.rows],
                        "problem": e.problem,
                    }
                    for e in g.entries
                ],
            }
            for g in groups
        ]
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    for g in out:
        click.echo(f"{g['name']} ({g['provider']})")
        for s in g["submissions"]:
            click.echo(f"  #{s['id']} {s['submitted_at']} {s['origin']} {s['submitted_by'] or ''}")
            for label, before, after in s["changes"] or [["(no change: confirms)", "", ""]]:
                click.echo(f"    {label}: {before} → {after}")
            if s["problem"]:
                click.echo(f"    cannot approve: {s['problem']}")


@review.command("approve")
@click.argument("submission_id", type=int)
@click.option(
    "--actor", required=True, help="Your name (recorded as confirmed_by and in the audit log)."
)
@click.pass_obj
def review_approve(services: Services, submission_id: int, actor: str) -> None:
    """Apply a submission to its provider and confirm the record."""
    from mapsvc.upkeep.review import approve

    with services.store.session() as session:
        change = approve(session, submission_id, actor=actor)
    changed = len([k for k in change.after if k != "capabilities"]) + len(
        change.after.get("capabilities") or {}
    )
    click.echo(f"#{submission_id} approved: {changed} value(s) changed, record confirmed")


@review.command("reject")
@click.argument("submission_id", type=int)
@click.option("--reason", required=True, help="Why (kept with the submission).")
@click.option("--actor", required=True, help="Your name (recorded in the audit log).")
@click.pass_obj
def review_reject(services: Services, submission_id: int, reason: str, actor: str) -> None:
    """Reject a submission with a reason; the registry is not changed."""
    from mapsvc.upkeep.review import reject

    with services.store.session() as session:
        reject(session, submission_id, actor=actor, reason=reason)
    click.echo(f"#{submission_id} rejected")


COMMANDS = [survey, review]
