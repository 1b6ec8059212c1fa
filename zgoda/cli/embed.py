"""`flask embed tag`: the pinned <script> tag a website adds."""

from __future__ import annotations

import click
from flask import current_app

from zgoda.cli import ZgodaGroup
from zgoda.web.embed import embed_bundle, pinned_tag

embed_cli = ZgodaGroup("embed", help="The JavaScript embed websites add.")


@embed_cli.command("tag")
@click.argument("site")
@click.option("--base-url", default=None, help="Zgoda's public URL (default: ZGODA_PUBLIC_URL).")
def tag_command(site: str, base_url: str | None) -> None:
    """Print the pinned <script> tag with its Subresource Integrity hash."""
    click.echo(pinned_tag(embed_bundle(), base_url or current_app.config["PUBLIC_URL"], site))
