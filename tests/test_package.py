"""Zgoda as a package: the `zgoda` command, directories from settings, and the built wheel
installed into a fresh virtualenv and run from outside the repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from click.testing import CliRunner
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import zgoda
from app import create_app
from tests.conftest import NOTICES_DIR, ROOT
from zgoda.cli.main import cli

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def pins(path: Path) -> dict[str, str]:
    """requirements file `path`: canonical name -> pinned version (`-r` lines not followed)."""
    pinned = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned with =="
            pinned[canonicalize_name(name)] = version.strip()
    return pinned


# --- the package's metadata --------------------------------------------------------------


def test_every_dependency_is_pinned_and_admits_its_pin() -> None:
    runtime = pins(ROOT / "requirements.txt")
    for text in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in runtime, f"pyproject dependency {text!r} is not pinned in requirements.txt"
        assert requirement.specifier.contains(runtime[name]), (
            f"pyproject's {text!r} does not admit requirements.txt's {name}=={runtime[name]}"
        )
        for extra in requirement.extras:  # psycopg[binary] needs psycopg-binary pinned too
            assert canonicalize_name(f"{requirement.name}-{extra}") in runtime


def test_the_version_has_one_source() -> None:
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "zgoda/__init__.py"
    assert "version" not in PYPROJECT["project"]
    assert zgoda.__version__.count(".") == 2


# --- the zgoda command -------------------------------------------------------------------


def test_zgoda_command_is_the_flask_cli_for_this_app(environ: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    version = runner.invoke(cli, ["--version"])
    assert version.exit_code == 0
    assert version.output.strip() == f"zgoda, version {zgoda.__version__}"
    listed = runner.invoke(cli, ["--help"])
    for group in ("run", "db", "notices", "consents", "keys", "tokens", "embed"):
        assert f"  {group} " in listed.output
    checked = runner.invoke(cli, ["notices", "check", "optingo"])
    assert checked.exit_code == 0, checked.output
    assert "optingo  (" in checked.output


def test_python_dash_m_zgoda_runs_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zgoda", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == f"zgoda, version {zgoda.__version__}"


# --- directories from settings -----------------------------------------------------------


def test_templates_and_static_files_come_from_their_settings(
    environ: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    templates, static = tmp_path / "templates", tmp_path / "static"
    shutil.copytree(ROOT / "templates", templates)
    shutil.copytree(ROOT / "static", static)
    index = templates / "index.html"
    index.write_text(
        index.read_text("utf-8").replace(
            "</ul>\n{% endblock %}", "</ul><p>edited copy</p>{% endblock %}"
        )
    )
    (static / "css" / "site.css").write_text("/* edited copy */")
    environ.chdir(tmp_path)
    # Relative values mean the directory Zgoda starts in.
    environ.setenv("ZGODA_TEMPLATES_DIR", "templates")
    environ.setenv("ZGODA_STATIC_DIR", str(static))
    client = create_app({"TESTING": True}).test_client()
    assert "edited copy" in client.get("/").get_data(as_text=True)
    with client.get("/static/css/site.css") as stylesheet:
        assert stylesheet.get_data(as_text=True) == "/* edited copy */"


def test_translations_come_from_their_setting(tmp_path: Path) -> None:
    msgid, msgstr = a_translated_message()
    with (ROOT / "translations/pl/LC_MESSAGES/messages.po").open("rb") as source:
        catalog = read_po(source)
    catalog[msgid].string = "przetłumaczone w kopii"
    copy = tmp_path / "catalogs" / "pl" / "LC_MESSAGES" / "messages.mo"
    copy.parent.mkdir(parents=True)
    with copy.open("wb") as compiled:
        write_mo(compiled, catalog)
    # Flask-Babel keeps catalogs per process, so each directory is tried in its own.
    script = (
        "import sys; from flask_babel import gettext; from app import create_app\n"
        "with create_app({'TESTING': True}).test_request_context('/?lang=pl'):\n"
        "    print(gettext(sys.argv[1]))"
    )
    for directory, expected in ((tmp_path / "catalogs", "przetłumaczone w kopii"), (None, msgstr)):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZGODA_")}
        if directory is not None:
            env["ZGODA_TRANSLATIONS_DIR"] = str(directory)
        result = run([sys.executable, "-c", script, msgid], ROOT, env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == expected


def test_a_missing_notices_directory_names_its_setting(tmp_path: Path) -> None:
    """Installed, the notices default to ./notices: started elsewhere, the error says what to set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZGODA_")}
    env["ZGODA_NOTICES_DIR"] = "notices"
    env["PYTHONPATH"] = str(ROOT)  # the repository's code, started from another directory
    result = run([sys.executable, "-m", "zgoda", "notices", "check"], tmp_path, env)
    assert result.returncode == 1
    assert (
        f"Error: ZGODA_NOTICES_DIR: {tmp_path / 'notices'} is not a directory: "
        "set ZGODA_NOTICES_DIR to the directory holding each site's <site>/notice.yaml"
    ) in result.stderr
    assert "Traceback" not in result.stderr


def a_translated_message() -> tuple[str, str]:
    """One plain message of the Polish catalog and its translation."""
    with (ROOT / "translations/pl/LC_MESSAGES/messages.po").open("rb") as source:
        catalog = read_po(source)
    for message in catalog:
        if (
            isinstance(message.id, str)
            and message.id
            and isinstance(message.string, str)
            and message.string
            and message.string != message.id
            and "%" not in message.id
            and not message.fuzzy
        ):
            return message.id, message.string
    raise AssertionError("the Polish catalog translates nothing")


# --- the wheel, installed into a fresh virtualenv ----------------------------------------

CHECK_SCRIPT = """
import json, sys
import zgoda
from flask_babel import gettext
from zgoda.application import create_app

msgid = sys.argv[1]
app = create_app({"TESTING": True, "SECRET_KEY": "a-test-secret"})
client = app.test_client()
answers = {url: client.get(url) for url in (
    "/healthz", "/readyz", "/optingo/privacy?lang=pl", "/embed.js", "/static/css/site.css",
    "/api/v1/openapi.json",
)}
with app.test_request_context("/?lang=pl"):
    translated = gettext(msgid)
print(json.dumps({
    "module": zgoda.__file__,
    "version": zgoda.__version__,
    "status": {url: answer.status_code for url, answer in answers.items()},
    "ready": answers["/readyz"].get_json(),
    "openapi_version": answers["/api/v1/openapi.json"].get_json()["info"]["version"],
    "translated": translated,
    "translations": app.config["BABEL_TRANSLATION_DIRECTORIES"],
    "static": app.static_folder,
    "templates": app.jinja_loader.searchpath,
}))
"""


@pytest.mark.slow
def test_the_wheel_installs_and_runs_outside_the_repository(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    build = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", dist, ROOT], ROOT)
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("zgoda-*.whl")
    assert wheel.name == f"zgoda-{zgoda.__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    for carried in (
        "zgoda/translations/pl/LC_MESSAGES/messages.mo",
        "zgoda/translations/en/LC_MESSAGES/messages.mo",
        "zgoda/static/embed/embed.js",
        "zgoda/static/embed/embed.css",
        "zgoda/templates/privacy.html",
        "zgoda/migrations/env.py",
        "zgoda/migrations/script.py.mako",
    ):
        assert carried in names, f"the wheel lacks {carried}"
    assert not any(
        name.startswith(("notices/", "tests/", "zgoda/notices/optingo")) for name in names
    )

    venv = tmp_path / "venv"
    started = time.monotonic()
    run([sys.executable, "-m", "venv", venv], tmp_path, check=True)
    python, zgoda_command = venv / "bin" / "python", venv / "bin" / "zgoda"
    # The pinned set (from pip's cache where it has them), then the wheel on top of it.
    install = run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", ROOT / "requirements.txt", wheel],
        tmp_path,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    print(f"virtualenv and install: {time.monotonic() - started:.1f} s")

    # Run from a directory that holds only a deployment's own data: its notices.
    workdir = tmp_path / "deployment"
    shutil.copytree(NOTICES_DIR, workdir / "notices")
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "ZGODA_DATABASE_URL": f"sqlite:///{workdir / 'zgoda.sqlite3'}",
    }
    checked = run([zgoda_command, "notices", "check", "optingo"], workdir, env)
    assert checked.returncode == 0, checked.stderr
    assert "optingo  (" in checked.stdout
    assert run([zgoda_command, "db", "upgrade"], workdir, env).returncode == 0
    version = run([zgoda_command, "--version"], workdir, env)
    assert version.stdout.strip() == f"zgoda, version {zgoda.__version__}"

    msgid, msgstr = a_translated_message()
    answer = run([python, "-c", CHECK_SCRIPT, msgid], workdir, env)
    assert answer.returncode == 0, answer.stderr
    seen = json.loads(answer.stdout.splitlines()[-1])
    site_packages = str(venv / "lib")
    assert seen["module"].startswith(site_packages)
    assert seen["version"] == seen["openapi_version"] == zgoda.__version__
    assert set(seen["status"].values()) == {200}, seen["status"]
    assert seen["ready"]["status"] == "ready", seen["ready"]
    assert seen["translated"] == msgstr
    for key in ("translations", "static"):
        assert seen[key].startswith(site_packages), (key, seen[key])
    assert all(path.startswith(site_packages) for path in seen["templates"])


def run(
    args: list[str | Path], cwd: Path, env: dict[str, str] | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """A command with `env` (default: this one's, without ZGODA_* settings)."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZGODA_")}
    return subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=check,
    )
