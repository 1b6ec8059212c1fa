"""`flask scan SITE --url URL`: what the site stores and sends before and after each choice."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import click
from flask.cli import with_appcontext

from zgoda.errors import ZgodaError
from zgoda.notices.registry import notice_registry
from zgoda.scan.findings import violations
from zgoda.scan.limits import ScanFailed, ScanLimits
from zgoda.scan.patch import notice_patch
from zgoda.scan.storage import save_scan
from zgoda.store.db import engine

# Exit codes a site's CI can tell apart: 1 for violations under --strict (and bad input),
# 2 when the site could not be scanned at all.
EXIT_SCAN_FAILED = 2


class ScanFailedExit(click.ClickException):
    """The scan could not run: the message, and exit code 2."""

    exit_code = EXIT_SCAN_FAILED


@click.command("scan")
@click.argument("site")
@click.option("--url", required=True, help="The page to start from (http or https).")
@click.option(
    "--pages", default=4, show_default=True, type=click.IntRange(0, 200),
    help="How many more same-site pages, found by links, to scan.",
)  # fmt: skip
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE instead of standard output.")  # fmt: skip
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text",
    show_default=True,
)  # fmt: skip
@click.option("--strict", is_flag=True, help="Exit with code 1 on any error or warning.")
@click.option("--patch", is_flag=True, help="Print a YAML notice patch declaring what was found.")
@click.option("--page-timeout", default=15.0, show_default=True, type=click.FloatRange(1, 600),
              help="Seconds one page may take to load.")  # fmt: skip
@click.option("--timeout", default=300.0, show_default=True, type=click.FloatRange(5, 7200),
              help="Seconds the whole scan may take.")  # fmt: skip
@click.option("--no-store", is_flag=True, help="Do not keep the result in the database.")
@click.option("--only-loopback", is_flag=True,
              help="Refuse every request that would leave the machine (tests, local builds).")  # fmt: skip
@with_appcontext
def scan_command(
    site: str,
    url: str,
    pages: int,
    output: Path | None,
    output_format: str,
    strict: bool,
    patch: bool,
    page_timeout: float,
    timeout: float,
    no_store: bool,
    only_loopback: bool,
) -> None:
    """Scan SITE's pages from URL in Chromium: before any choice, after "Reject all" and after
    "Accept all", and report what differs from the site's notice."""
    registry = notice_registry()
    if site not in registry.notices:
        raise click.BadParameter(
            f"unknown site {site!r}; known: {', '.join(registry.notices)}", param_hint="SITE"
        )
    loaded = registry.notices[site]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"{url!r} is not an http(s) URL with a host", param_hint="--url")
    # Imported here: Playwright loads only for a scan, not for every `flask` command.
    from zgoda.scan.report import scan_site

    limits = ScanLimits(
        page_timeout=page_timeout, total_timeout=timeout, only_loopback=only_loopback
    )
    try:
        report = scan_site(loaded, url, pages, limits)
    except ScanFailed as error:
        raise ScanFailedExit(f"scan of {site} failed: {error}") from error
    try:
        if not no_store:
            save_scan(engine(), site, loaded.version, report.run, report.findings)
    except ZgodaError as error:
        raise click.ClickException(str(error)) from error
    text = (
        json.dumps(report.as_dict(), ensure_ascii=False, indent=2)
        if output_format == "json"
        else report.text()
    )
    if output is not None:
        try:
            output.write_text(text + "\n", "utf-8")
        except OSError as error:
            raise click.ClickException(f"{output}: cannot write the report: {error}") from error
        click.echo(f"{site}: report written to {output}", err=True)
    else:
        click.echo(text)
    if patch:
        click.echo(notice_patch(site, report.run, report.findings))
    found = violations(report.findings)
    if strict and found:
        raise click.ClickException(
            f"{found} violation{'s' if found != 1 else ''} (errors and warnings) on {site} (--strict)"
        )
