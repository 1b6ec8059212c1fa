"""The audit of each notice against its source: every recorded fact is in both, as recorded.

`tests/fixtures/facts/<site>.yaml` holds, under `audit`, one entry per source statement:
the sentence(s) quoted from `shared/seeds/`, the data paths with the value each must have
(or the paths that must be NotStated), and the verdict. A path is dotted; in a list a
segment picks an item by position or by id: `purposes.marketing.legal_bases`,
`cookies.purposes.advertising.cookies.0.name`, `outdated_statements.1.kind`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from tests.conftest import FIXTURES, NOTICES_DIR, ROOT, SITES
from zgoda.notices import load_notice
from zgoda.notices.model import NotStated

SEEDS = ROOT.parent / "shared" / "seeds"
VERDICTS = {"kept", "fixed", "not_stated", "outdated", "law"}


def audit_of(site: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = yaml.safe_load(
        (FIXTURES / "facts" / f"{site}.yaml").read_text(encoding="utf-8")
    )["audit"]
    return entries


def source_file(site: str) -> Path:
    """The seed a site's notice comes from, as notices/README.md names it."""
    table = (ROOT / "notices" / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"\| `{re.escape(site)}` \| `([^`]+)`", table)
    assert match, f"notices/README.md names no source for {site}"
    return SEEDS / match.group(1)


def flat(text: str) -> str:
    return " ".join(text.split())


def resolve(value: Any, path: str) -> Any:
    """The item at `path` in a notice (see the module docstring for the syntax)."""
    for segment in path.split("."):
        if not isinstance(value, list):
            assert hasattr(value, segment), f"{path}: no {segment!r}"
            value = getattr(value, segment)
        elif segment.isdigit():
            value = value[int(segment)]
        else:
            found = [item for item in value if getattr(item, "id", None) == segment]
            assert found, f"{path}: no item with id {segment!r}"
            value = found[0]
    return value


def plain(value: Any) -> Any:
    """A model value as YAML spells it: enums as their values, models as mappings."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_defaults=True)
    if isinstance(value, list):
        return [plain(item) for item in value]
    return getattr(value, "value", value)


@pytest.fixture(scope="module", params=SITES)
def site(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_every_site_has_an_audit_of_its_source(site: str) -> None:
    entries = audit_of(site)
    assert len(entries) >= 15
    for entry in entries:
        assert entry["verdict"] in VERDICTS, entry
        assert entry["source"], entry
        assert entry.get("values") or entry.get("not_stated"), entry


def test_every_quote_is_in_the_source(site: str) -> None:
    source = flat(source_file(site).read_text(encoding="utf-8"))
    missing = [
        quote for entry in audit_of(site) for quote in entry["source"] if flat(quote) not in source
    ]
    assert not missing


def test_every_recorded_value_is_in_the_notice(site: str) -> None:
    notice = load_notice(NOTICES_DIR / site).notice
    wrong = []
    for entry in audit_of(site):
        for path, expected in (entry.get("values") or {}).items():
            actual = plain(resolve(notice, path))
            if actual != expected:
                wrong.append((path, expected, actual))
        for path in entry.get("not_stated") or []:
            if not isinstance(resolve(notice, path), NotStated):
                wrong.append((path, "not stated", plain(resolve(notice, path))))
    assert not wrong


def test_a_fixed_or_outdated_entry_says_why(site: str) -> None:
    for entry in audit_of(site):
        if entry["verdict"] in ("fixed", "outdated"):
            assert entry.get("note"), entry
