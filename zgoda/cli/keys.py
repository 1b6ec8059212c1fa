"""`flask keys create/list/revoke`: the per-site API keys of the export API and the dashboard."""

from __future__ import annotations

import click

from zgoda.cli import ZgodaGroup
from zgoda.errors import ZgodaError
from zgoda.notices.registry import notice_registry
from zgoda.store.db import engine
from zgoda.store.keys import KEY_PREFIX, create_key, list_keys, revoke_key

keys_cli = ZgodaGroup("keys", help="Per-site API keys for the export API and the dashboard.")


@keys_cli.command("create")
@click.argument("site")
@click.option("--label", default="", help="What the key is for, shown by `keys list`.")
def create_command(site: str, label: str) -> None:
    """Create an API key for SITE and print it; only its hash is kept."""
    if site not in notice_registry().notices:
        raise click.BadParameter(f"unknown site {site!r}", param_hint="SITE")
    click.echo(create_key(engine(), site, label))
    click.echo("Store it now: it cannot be shown again.", err=True)


@keys_cli.command("list")
@click.argument("site", required=False)
def list_command(site: str | None) -> None:
    """List the API keys (of SITE, or of every site), never their secrets."""
    keys = list_keys(engine(), site)
    if not keys:
        click.echo("No API keys.")
    for key in keys:
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        created = f"{key.created_at:%Y-%m-%d %H:%M}"
        click.echo(f"{key.key_id}  {key.site_id}  created {created}  {state}  {key.label}".rstrip())


@keys_cli.command("revoke")
@click.argument("key")
def revoke_command(key: str) -> None:
    """Revoke KEY (its id from `keys list`, or the whole key)."""
    parts = key.split("_", 2)
    key_id = parts[1] if len(parts) == 3 and parts[0] == KEY_PREFIX else key
    if not revoke_key(engine(), key_id):
        raise ZgodaError(f"no active API key {key_id!r}")
    click.echo(f"Revoked API key {key_id}.")
