"""`flask consents export/verify/erase/purge`: the consent log out, proved, erased, purged."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from zgoda.cli import ZgodaGroup
from zgoda.consent import erase_event, rules_for
from zgoda.errors import ZgodaError
from zgoda.export import FORMATS, Format, export_chunks, parse_moment
from zgoda.export.files import export_length, verify_export, write_export
from zgoda.notices.registry import notice_registry
from zgoda.store.audit import anchor, erase_consent, purge_before, verify_site
from zgoda.store.db import engine
from zgoda.store.tables import chain_heads
from zgoda.store.verify import ChainReport

# Like the notices' durations: a month counts 30 days, a year 365.
AGE_UNITS = {"d": 1, "m": 30, "y": 365}
AGE_PATTERN = re.compile(r"^([1-9][0-9]*)([dmy])$")

consents_cli = ZgodaGroup("consents", help="Export, prove and maintain the consent log.")


class Moment(click.ParamType[datetime, Any]):
    """An ISO 8601 date or time on the command line, as UTC."""

    name = "date"

    def __init__(self, end: bool = False):
        self.end = end

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        """A UTC datetime; a date given as an end includes that whole day."""
        if isinstance(value, datetime):
            return value
        try:
            return parse_moment(str(value), end=self.end)
        except ValueError as error:
            self.fail(str(error), param, ctx)


def age(value: str) -> timedelta:
    """`3y`, `18m` or `90d` as a timedelta."""
    match = AGE_PATTERN.match(value.strip().lower())
    if match is None:
        raise click.BadParameter(f"{value!r}: use a number and d, m or y (90d, 18m, 3y)")
    return timedelta(days=int(match[1]) * AGE_UNITS[match[2]])


def logged_sites() -> list[str]:
    """Every site whose chain the log holds."""
    with engine().connect() as connection:
        return list(connection.scalars(select(chain_heads.c.site_id).order_by("site_id")))


def known_site(site: str) -> str:
    """`site` if a notice or the log knows it; a usage error (exit 2) otherwise."""
    if site not in notice_registry().notices and site not in logged_sites():
        raise click.BadParameter(f"unknown site {site!r}", param_hint="'--site'")
    return site


def site_purposes(site: str) -> list[str]:
    """The choice keys (purposes, each followed by its services) of the site's current
    notice: the export's choice columns (none if it has no notice any more)."""
    loaded = notice_registry().notices.get(site)
    return [] if loaded is None else list(rules_for(loaded).choice_keys)


# --- export ----------------------------------------------------------------------------------


@consents_cli.command("export")
@click.option("--site", required=True, help="The site id.")
@click.option("--from", "start", type=Moment(), help="From this UTC date or time on.")
@click.option("--to", "end", type=Moment(end=True), help="Before this time (a date: through it).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (.gz: gzipped)."
)
def export_command(
    site: str, start: datetime | None, end: datetime | None, fmt: Format, output: Path | None
) -> None:
    """Write SITE's consent log, with its hash chain, as CSV or NDJSON."""
    known_site(site)
    with ExitStack() as stack:
        progress: Callable[[int], None] | None = None
        if sys.stderr.isatty():  # counting costs a query; only a person watching needs it
            length = export_length(engine(), site, start, end)
            bar = click.progressbar(length=length, label="Exporting", file=sys.stderr)
            progress = stack.enter_context(bar).update
        chunks = export_chunks(engine(), site, fmt, site_purposes(site), start, end, progress)
        if output is not None:
            write_export(chunks, output)
            return
        for text in chunks:
            sys.stdout.write(text)


# --- verify ----------------------------------------------------------------------------------


def ok_line(report: ChainReport) -> str:
    """`OK: N records, sequences A–B, last hash H`."""
    if not report.checked or report.first_sequence is None:
        return "OK: 0 records"
    last = report.first_sequence + report.checked - 1
    return (
        f"OK: {report.checked} records, sequences {report.first_sequence}–{last}, "
        f"last hash {report.last_hash}"
    )


def verify_file(path: Path) -> bool:
    """Check an export file's chain; print OK or the first broken record."""
    check = verify_export(path)
    report = check.report
    if report is None:
        click.echo(f"BROKEN at line {check.line}: the record cannot be read: {check.unreadable}")
        return False
    if not report.ok:
        click.echo(f"BROKEN at record {report.broken_at} (line {check.line}): {report.problem}")
        return False
    click.echo(ok_line(report))
    return True


def verify_database(site: str | None) -> bool:
    """Check the live chain of SITE (or of every site); print one line per site."""
    sites = [known_site(site)] if site else logged_sites()
    if not sites:
        click.echo("The consent log is empty.")
    intact = True
    for site_id in sites:
        report = verify_site(engine(), site_id)
        if report.ok:
            click.echo(f"{site_id}: {ok_line(report)}")
        else:
            click.echo(f"{site_id}: BROKEN at record {report.broken_at}: {report.problem}")
            intact = False
    return intact


@consents_cli.command("verify")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--db", "database", is_flag=True, help="Check the live log instead of a file.")
@click.option("--site", help="With --db: only this site.")
def verify_command(file: Path | None, database: bool, site: str | None) -> None:
    """Check the hash chain of an export FILE (CSV or NDJSON, plain or .gz), or of the live log."""
    if database == (file is not None):
        raise click.UsageError("give either an export FILE or --db")
    if site and not database:
        raise click.UsageError("--site goes with --db (an export holds one site)")
    if file is not None:
        intact = verify_file(file)
    else:
        intact = verify_database(site)
    if not intact:
        sys.exit(1)


# --- erase and purge -------------------------------------------------------------------------


@consents_cli.command("erase")
@click.option("--site", required=True, help="The site id.")
@click.option("--consent-id", required=True, help="The consent id the request is about.")
def erase_command(site: str, consent_id: str) -> None:
    """Erase the personal parts of one consent history (GDPR Art. 17); the chain still verifies."""
    loaded = notice_registry().notices.get(site)
    if loaded is None:
        raise click.BadParameter(f"unknown site {site!r}", param_hint="'--site'")
    erased = erase_consent(engine(), site, consent_id, erase_event(loaded, datetime.now(UTC)))
    if not erased:
        raise ZgodaError(f"nothing to erase: no record of {site} has the consent id {consent_id!r}")
    click.echo(f"Erased the consent id, browser and network from {erased} records of {site}.")
    click.echo("The erasure is logged as a record of its own; the chain still verifies.")


@consents_cli.command("purge")
@click.option("--site", required=True, help="The site id.")
@click.option("--older-than", "older_than", required=True, help="An age: 90d, 18m or 3y.")
def purge_command(site: str, older_than: str) -> None:
    """Delete SITE's records older than an age, leaving a checkpoint the chain starts from."""
    known_site(site)
    now = datetime.now(UTC)
    cutoff = now - age(older_than)
    purged = purge_before(engine(), site, cutoff, now)
    if not purged:
        click.echo(f"No record of {site} is older than {cutoff:%Y-%m-%d %H:%M} UTC.")
        return
    with engine().connect() as connection:
        start = anchor(connection, site)
    click.echo(f"Purged {purged} records of {site} recorded before {cutoff:%Y-%m-%d %H:%M} UTC.")
    click.echo(
        f"Checkpoint: the chain now starts after record {start.sequence} ({start.record_hash})."
    )
