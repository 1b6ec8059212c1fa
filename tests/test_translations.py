"""The gettext catalogs: complete Polish, nothing fuzzy, nothing stale."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from tests.conftest import ROOT

TRANSLATIONS = ROOT / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def catalog(locale: str) -> Catalog:
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po)


def forms(text: str | tuple[str, ...]) -> tuple[str, ...]:
    """A message's id or translation as its forms: one, or one per plural form."""
    return (text,) if isinstance(text, str) else tuple(text)


def test_every_message_has_a_polish_translation_and_none_is_fuzzy() -> None:
    polish = catalog("pl")
    untranslated = [
        message.id for message in polish if message.id and not all(forms(message.string))
    ]
    fuzzy = [message.id for message in polish if message.id and message.fuzzy]
    assert not untranslated
    assert not fuzzy
    assert len(list(polish)) > 50


def test_placeholders_survive_translation() -> None:
    polish = catalog("pl")
    for message in polish:
        if not message.id:
            continue
        expected = sorted(PLACEHOLDER.findall(forms(message.id)[-1]))
        if message.pluralizable:  # Polish has three plural forms, each keeps every placeholder
            assert len(forms(message.string)) == polish.num_plurals == 3, message.id
        for translation in forms(message.string):
            assert sorted(PLACEHOLDER.findall(translation)) == expected, message.id


def test_catalog_template_matches_the_source(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "--sort-output",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with open(fresh, "rb") as pot:
        extracted = {message.id for message in read_po(pot) if message.id}
    with open(TRANSLATIONS / "messages.pot", "rb") as pot:
        committed = {message.id for message in read_po(pot) if message.id}
    assert extracted == committed, "run `make messages` and translate the new strings"
    assert extracted == {message.id for message in catalog("pl") if message.id}
