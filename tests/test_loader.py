"""Loading notice files: every real notice loads; every broken one names file, line and field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from tests.conftest import NOTICES_DIR, ROOT, SITES
from zgoda.errors import NoticeError
from zgoda.notices import load_notice, load_notices
from zgoda.notices.loader import content_version

VALID = (NOTICES_DIR / "optingo" / "notice.yaml").read_text(encoding="utf-8")


def write_site(root: Path, text: str, site_id: str = "broken-site") -> Path:
    site_dir = root / site_id
    site_dir.mkdir(parents=True)
    (site_dir / "notice.yaml").write_text(text, encoding="utf-8")
    return site_dir


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_the_five_source_organisations_are_there() -> None:
    assert SITES == ["apifonica", "cstudios", "opgk-rzeszow", "optingo", "xopero"]


@pytest.mark.parametrize("site", SITES)
def test_every_real_notice_loads(site: str) -> None:
    loaded = load_notice(NOTICES_DIR / site)
    assert loaded.site_id == site
    assert len(loaded.version) == 16


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    text = VALID.replace("site_name: Optingo", "site_name: [Optingo")
    site_dir = write_site(tmp_path, text)
    with pytest.raises(NoticeError) as caught:
        load_notice(site_dir)
    assert caught.value.path == site_dir / "notice.yaml"
    assert "invalid YAML" in str(caught.value)
    assert caught.value.line is not None and caught.value.line >= line_of(text, "site_name")


def test_unknown_field_names_the_field_and_its_line(tmp_path: Path) -> None:
    text = VALID.replace("  name: Optingo Digital", "  nickname: Opti\n  name: Optingo Digital")
    with pytest.raises(NoticeError) as caught:
        load_notice(write_site(tmp_path, text))
    assert caught.value.field == "controller.nickname"
    assert caught.value.line == line_of(text, "  nickname:")
    assert "unknown field" in str(caught.value)
    assert str(tmp_path / "broken-site" / "notice.yaml") in str(caught.value)


def test_missing_required_field_names_the_field(tmp_path: Path) -> None:
    text = VALID.replace("site_name: Optingo\n", "")
    with pytest.raises(NoticeError) as caught:
        load_notice(write_site(tmp_path, text))
    assert caught.value.field == "site_name"
    assert "required field is missing" in str(caught.value)


def test_unknown_legal_basis_names_the_purpose(tmp_path: Path) -> None:
    text = VALID.replace("legal_bases: [f, a]", "legal_bases: [f, z]")
    with pytest.raises(NoticeError) as caught:
        load_notice(write_site(tmp_path, text))
    assert caught.value.field == "purposes.1.legal_bases.1"
    assert caught.value.line == line_of(text, "legal_bases: [f, z]")
    assert "'z'" in str(caught.value)


def test_bad_site_id_is_rejected(tmp_path: Path) -> None:
    site_dir = write_site(tmp_path, VALID, site_id="Bad_Site")
    with pytest.raises(NoticeError, match=r"site id 'Bad_Site' must match \[a-z0-9-\]\+"):
        load_notice(site_dir)


def test_duplicate_keys_are_rejected(tmp_path: Path) -> None:
    text = VALID.replace("site_name: Optingo\n", "site_name: Optingo\nsite_name: Other\n")
    with pytest.raises(NoticeError, match="duplicate key 'site_name'"):
        load_notice(write_site(tmp_path, text))


def test_a_folder_without_notice_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty-site").mkdir()
    with pytest.raises(NoticeError, match="missing notice.yaml"):
        load_notices(tmp_path)


def test_version_is_a_content_hash(tmp_path: Path) -> None:
    original = load_notice(NOTICES_DIR / "optingo")
    same = load_notice(write_site(tmp_path, VALID + "\n# a comment changes no statement\n"))
    changed = load_notice(
        write_site(tmp_path, VALID.replace("office@optingo.eu", "biuro@optingo.eu"), "changed")
    )
    assert same.version == original.version == content_version(original.notice)
    assert changed.version != original.version


def test_notices_are_parsed_once_at_start_up(monkeypatch: pytest.MonkeyPatch, app: Flask) -> None:
    def fail(*args: object) -> None:
        raise AssertionError("notice files read during a request")

    monkeypatch.setattr("zgoda.notices.loader.load_notice", fail)
    monkeypatch.setattr("zgoda.notices.registry.load_notices", fail)
    client = app.test_client()
    assert client.get("/optingo/privacy").status_code == 200
    assert client.get("/optingo/cookies?lang=en").status_code == 200


def test_app_refuses_to_start_with_a_broken_notice(tmp_path: Path) -> None:
    write_site(tmp_path, VALID.replace("legal_bases: [f, a]", "legal_bases: [f, z]"))
    with pytest.raises(NoticeError):
        create_app({"TESTING": True, "NOTICES_DIR": str(tmp_path)})


def test_cli_reports_a_broken_notice_with_file_line_and_field(tmp_path: Path) -> None:
    text = VALID.replace("  name: Optingo Digital", "  nickname: Opti\n  name: Optingo Digital")
    write_site(tmp_path, text)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "notices", "check"],
        cwd=ROOT,
        env={
            "ZGODA_NOTICES_DIR": str(tmp_path),
            "ZGODA_SECRET_KEY": "a-secret-key-of-at-least-thirty-two-bytes",
            "ZGODA_PUBLIC_URL": "https://consent.example",
            "PATH": "",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    expected = f"{tmp_path / 'broken-site' / 'notice.yaml'}:{line_of(text, '  nickname:')}"
    assert result.returncode == 1
    assert expected in result.stderr
    assert "field 'controller.nickname': unknown field" in result.stderr
    assert "Traceback" not in result.stderr
