"""`flask notices check/new/schema/reload`: review the notices, start one, print their format,
publish edited ones to the running server."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import click
from flask import current_app

from zgoda.cli import ZgodaGroup
from zgoda.errors import ZgodaError
from zgoda.notices.check import SEVERITIES, check_notice, counts
from zgoda.notices.registry import notice_registry
from zgoda.notices.skeleton import notice_schema, write_skeleton

notices_cli = ZgodaGroup("notices", help="Review, start and describe the policy data in notices/.")

HEADINGS = {"error": "errors", "warning": "warnings", "info": "info"}


@notices_cli.command("check")
@click.argument("site", required=False)
@click.option(
    "--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--strict", is_flag=True, help="Exit with code 1 when any notice has an error.")
def check_command(site: str | None, output: str, strict: bool) -> None:
    """Review each notice as a privacy lawyer would: errors, warnings and info, with the
    article, the data path and a fix."""
    registry = notice_registry()
    if site is not None and site not in registry.notices:
        raise click.BadParameter(
            f"unknown site {site!r}; known: {', '.join(registry.notices)}", param_hint="SITE"
        )
    sites = [site] if site else list(registry.notices)
    if output == "json":
        report = [
            {
                "site": site_id,
                "path": str(registry.notices[site_id].path),
                "version": registry.notices[site_id].version,
                "counts": counts(registry.findings[site_id]),
                "findings": [finding.as_dict() for finding in registry.findings[site_id]],
            }
            for site_id in sites
        ]
        click.echo(json.dumps({"sites": report}, ensure_ascii=False, indent=2))
    else:
        for site_id in sites:
            _print_review(site_id)
    errors = sum(counts(registry.findings[site_id])["error"] for site_id in sites)
    if strict and errors:
        raise ZgodaError(
            f"{errors} error{'s' if errors != 1 else ''} in the notices checked (--strict)"
        )


def _print_review(site_id: str) -> None:
    registry = notice_registry()
    loaded = registry.notices[site_id]
    findings = registry.findings[site_id]
    tally = counts(findings)
    summary = ", ".join(f"{tally[severity]} {HEADINGS[severity]}" for severity in SEVERITIES)
    click.echo(f"{site_id}  ({loaded.path}, version {loaded.version}): {summary}")
    for severity in SEVERITIES:
        group = [finding for finding in findings if finding.severity == severity]
        if not group:
            continue
        click.echo(f"  {HEADINGS[severity]}:")
        for finding in group:
            click.echo(f"    {finding.path}  [{finding.article}]")
            click.echo(f"      {finding.message}")
            click.echo(f"      fix: {finding.fix}")


@notices_cli.command("new")
@click.argument("site")
def new_command(site: str) -> None:
    """Write notices/SITE/notice.yaml: a commented skeleton with every item still to state."""
    loaded = write_skeleton(Path(current_app.config["NOTICES_DIR"]), site)
    tally = counts(check_notice(site, loaded.notice))
    click.echo(f"Wrote {loaded.path}.")
    click.echo(
        f"`flask --app app notices check {site}` lists what to fill in: "
        f"{tally['warning']} warnings, {tally['info']} info."
    )


@notices_cli.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of notice.yaml, for an editor's completion and validation."""
    click.echo(notice_schema())


@notices_cli.command("reload")
@click.option(
    "--pid",
    "pidfile",
    type=click.Path(dir_okay=False, path_type=Path),
    help="gunicorn's pid file (its --pid): send the master a HUP once every notice validates.",
)
def reload_command(pidfile: Path | None) -> None:
    """Validate every notice, then have the running server publish them without a restart.

    Loading the app has validated each file already: a broken one ends this command with its
    file, line and field before anything is signalled. The server validates again as it
    reloads, and keeps a site's previous version if its file broke in between.
    """
    for site_id, loaded in notice_registry().notices.items():
        click.echo(f"{site_id}: version {loaded.version} ({loaded.path})")
    if pidfile is None:
        click.echo(
            "every notice is valid; nothing was signalled: pass --pid with gunicorn's pid file, "
            "or send its master a HUP (kill -HUP PID)"
        )
        return
    try:
        pid = int(pidfile.read_text(encoding="utf-8").strip())
    except (OSError, ValueError) as error:
        raise ZgodaError(f"{pidfile}: not a readable pid file ({error})") from error
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise ZgodaError(f"{pidfile}: no process {pid} runs (is gunicorn running?)") from None
    except PermissionError:
        raise ZgodaError(f"{pidfile}: process {pid} is not ours to signal") from None
    click.echo(
        f"sent HUP to gunicorn's master (pid {pid}): it publishes the notices and replaces its "
        "workers gracefully; its log says what it published or refused"
    )
