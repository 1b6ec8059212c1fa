"""`flask tokens site-key`: the keys a site's own backend verifies consent tokens with."""

from __future__ import annotations

import click

from zgoda.cli import ZgodaGroup
from zgoda.notices.registry import notice_registry
from zgoda.web.tokens_ext import consent_tokens

tokens_cli = ZgodaGroup("tokens", help="Consent-token keys for the sites' own backends.")


@tokens_cli.command("site-key")
@click.argument("site")
def site_key_command(site: str) -> None:
    """Print SITE's verification key(s), newest last, for its backend to verify tokens."""
    if site not in notice_registry().notices:
        raise click.BadParameter(f"unknown site {site!r}", param_hint="SITE")
    for key in consent_tokens().keys_for(site):
        click.echo(key)
