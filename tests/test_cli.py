"""The `flask` command groups: each registered once, in one place, with its help text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import AppGroup
from flask.cli import cli as flask_command

from app import create_app
from zgoda.cli import ZgodaGroup
from zgoda.errors import ZgodaError

GROUPS = ("notices", "db", "keys", "tokens", "consents", "embed", "webhooks")
COMMANDS = ("scan",)  # commands of their own, outside any group
ROOT = Path(__file__).resolve().parent.parent
FLASK = Path(sys.executable).parent / "flask"


def test_create_app_registers_each_group_once(monkeypatch: pytest.MonkeyPatch) -> None:
    added: Counter[str | None] = Counter()
    add_command = AppGroup.add_command

    def counting(self: AppGroup, cmd: click.Command, name: str | None = None) -> None:
        if not isinstance(self, ZgodaGroup):  # not a command joining its group on import
            added[name or cmd.name] += 1
        add_command(self, cmd, name)

    monkeypatch.setattr(AppGroup, "add_command", counting)
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret"})
    assert added == Counter(GROUPS + COMMANDS)
    assert sorted(app.cli.commands) == sorted(GROUPS + COMMANDS)


@pytest.mark.parametrize("name", GROUPS)
def test_each_group_and_command_has_a_help_text(app: Flask, name: str) -> None:
    group = app.cli.commands[name]
    assert isinstance(group, ZgodaGroup)
    assert group.help
    assert group.commands
    for command in group.commands.values():
        assert command.help, f"flask {name} {command.name} has no help text"


def test_flask_help_lists_every_group_with_its_help(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")  # `flask` sets it; restored afterwards
    monkeypatch.setenv("ZGODA_SECRET_KEY", "a-secret-key-of-at-least-thirty-two-bytes")
    monkeypatch.setenv("ZGODA_PUBLIC_URL", "https://consent.example")
    result = CliRunner().invoke(flask_command, ["--app", "app", "--help"])
    assert result.exit_code == 0, result.output
    listing = result.output.split("Commands:", 1)[1].splitlines()
    rows = [line.split(None, 1) for line in listing if line.strip()]
    for name in GROUPS:
        texts = [row[1] for row in rows if row[0] == name and len(row) == 2]
        assert len(texts) == 1, f"flask --help lists {name} {len(texts)} times with a help text"
        assert app.cli.commands[name].help.startswith(texts[0][:20])  # type: ignore[union-attr]


class Refused(ZgodaError):
    """A domain error raised by a command."""


def failing_group() -> ZgodaGroup:
    group = ZgodaGroup("failing")

    @group.command("domain")
    def domain() -> None:
        raise Refused("the log refuses")

    @group.command("usage")
    def usage() -> None:
        raise click.BadParameter("not like that", param_hint="SITE")

    return group


@pytest.mark.parametrize(
    ("command", "exit_code", "message"),
    [
        ("domain", 1, "Error: the log refuses"),
        ("usage", 2, "Invalid value for SITE: not like that"),
    ],
)
def test_a_domain_error_ends_with_exit_code_1_and_a_usage_error_with_2(
    app: Flask, command: str, exit_code: int, message: str
) -> None:
    result = app.test_cli_runner().invoke(failing_group(), [command])
    assert result.exit_code == exit_code
    assert message in result.output
    assert "Traceback" not in result.output


# --- the serving requirements: a secret key and a public URL ----------------------------


def flask_command_without_settings(*args: str) -> subprocess.CompletedProcess[str]:
    """`flask --app app ARGS` in a subprocess with no ZGODA_* variable and debug off."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ZGODA_", "FLASK_")) and name != "DATABASE_URL"
    }
    environ["FLASK_DEBUG"] = "0"
    return subprocess.run(
        [str(FLASK), "--app", "app", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_notices_check_runs_without_a_secret_key_or_public_url() -> None:
    result = flask_command_without_settings("notices", "check", "optingo")
    assert result.returncode == 0, result.stderr
    assert "optingo  (" in result.stdout
    assert "ZGODA_SECRET_KEY" not in result.stderr


def test_flask_help_and_routes_run_without_a_secret_key() -> None:
    assert flask_command_without_settings("--help").returncode == 0
    assert flask_command_without_settings("routes").returncode == 0


def test_flask_run_still_refuses_to_serve_without_a_secret_key() -> None:
    started = time.monotonic()
    result = flask_command_without_settings("run", "--port", "0")
    assert result.returncode == 1
    assert "ZGODA_SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 30  # refused at start-up, never serving


def test_tokens_site_key_refuses_without_a_secret_key() -> None:
    result = flask_command_without_settings("tokens", "site-key", "optingo")
    assert result.returncode == 1
    assert "ZGODA_SECRET_KEY is not set" in result.stderr
    assert result.stdout == ""  # no key derived from a missing secret


def test_embed_tag_refuses_without_the_serving_settings() -> None:
    result = flask_command_without_settings("embed", "tag", "optingo")
    assert result.returncode == 1
    assert "ZGODA_SECRET_KEY is not set" in result.stderr


def test_a_sites_ci_can_run_the_strict_check_as_json_without_settings() -> None:
    result = flask_command_without_settings(
        "notices", "check", "xopero", "--format", "json", "--strict"
    )
    assert result.returncode == 1  # xopero's automated decisions lack Art. 22 safeguards
    assert "(--strict)" in result.stderr
    assert json.loads(result.stdout)["sites"][0]["counts"]["error"] >= 1
