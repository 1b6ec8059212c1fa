"""Releases: one version number, the changelog's newest release, the places that show it."""

from __future__ import annotations

import re
from datetime import date

from flask.testing import FlaskClient

import zgoda
from tests.conftest import ROOT

CHANGELOG = (ROOT / "CHANGELOG.md").read_text("utf-8")
HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?$", re.M)
SECTIONS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def releases() -> list[tuple[str, str | None]]:
    return [(m["version"], m["date"]) for m in HEADING.finditer(CHANGELOG)]


def test_the_changelog_opens_with_unreleased_then_this_version() -> None:
    found = releases()
    assert found[0] == ("Unreleased", None)
    version, day = found[1]
    assert version == zgoda.__version__, "a release moves Unreleased under the new version"
    assert day is not None and date.fromisoformat(day) <= date.today()


def test_the_changelog_keeps_its_format() -> None:
    """Keep a Changelog: versions newest first with dates, only its six kinds of change."""
    found = releases()[1:]
    assert all(day for _, day in found)
    versions = [tuple(int(part) for part in version.split(".")) for version, _ in found]
    assert versions == sorted(versions, reverse=True)
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", version) for version, _ in found)
    kinds = set(re.findall(r"^### (.+)$", CHANGELOG, re.M))
    assert kinds <= SECTIONS, kinds - SECTIONS


def test_the_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", zgoda.__version__)


def test_the_api_document_shows_the_version(client: FlaskClient) -> None:
    assert client.get("/api/v1/openapi.json").get_json()["info"]["version"] == zgoda.__version__
