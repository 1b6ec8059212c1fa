"""`flask notices ...` commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from flask.cli import AppGroup

from zgoda.consents_cli import consents_cli
from zgoda.keys_cli import keys_cli
from zgoda.notices.registry import notice_registry
from zgoda.web.tokens_ext import consent_tokens

if TYPE_CHECKING:
    from flask import Flask

notices_cli = AppGroup("notices", help="Inspect the policy data in notices/.")


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


tokens_cli = AppGroup("tokens", help="Consent-token keys for the sites' own backends.")


@tokens_cli.command("site-key")
@click.argument("site")
def site_key_command(site: str) -> None:
    """Print SITE's verification key(s), newest last, for its backend to verify tokens."""
    if site not in notice_registry().notices:
        raise click.BadParameter(f"unknown site {site!r}", param_hint="SITE")
    for key in consent_tokens().keys_for(site):
        click.echo(key)


def init_app(app: Flask) -> None:
    """Register the command groups on the app."""
    app.cli.add_command(notices_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(consents_cli)
    app.cli.add_command(keys_cli)
