"""The `zgoda` command: Flask's command line for this app, wherever it is installed.

`zgoda run`, `zgoda db upgrade`, `zgoda notices check` are `flask --app app ...` without the
repository: the command builds the app with the package's factory, not from a file it finds.
"""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from zgoda import __version__
from zgoda.application import create_app

cli = FlaskGroup(
    name="zgoda",
    create_app=create_app,
    add_version_option=False,
    help="Zgoda's commands: `zgoda run` serves it, the groups below manage it.",
)
cli = click.version_option(__version__, "--version", prog_name="zgoda")(cli)


def main() -> None:
    """Run the `zgoda` command."""
    cli.main(prog_name="zgoda")
