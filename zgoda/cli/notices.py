"""`flask notices check`: what each notice is missing or states out of date."""

from __future__ import annotations

import click

from zgoda.cli import ZgodaGroup
from zgoda.notices.registry import notice_registry

notices_cli = ZgodaGroup("notices", help="Inspect the policy data in notices/.")


@notices_cli.command("check")
@click.argument("site", required=False)
def check_command(site: str | None) -> None:
    """Print each missing GDPR Art. 13/14 item and each outdated statement, per site."""
    registry = notice_registry()
    if site is not None and site not in registry.notices:
        raise click.BadParameter(
            f"unknown site {site!r}; known: {', '.join(registry.notices)}", param_hint="SITE"
        )
    for site_id in [site] if site else list(registry.notices):
        loaded = registry.notices[site_id]
        findings = registry.findings[site_id]
        click.echo(
            f"{site_id}  ({loaded.path}, version {loaded.version}): {len(findings)} findings"
        )
        for finding in findings:
            click.echo(f"  {finding}")
