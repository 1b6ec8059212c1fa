"""Shared fixtures: the app, its test client and CLI runner, and notice folders to break."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from app import create_app

ROOT = Path(__file__).resolve().parent.parent
NOTICES_DIR = ROOT / "notices"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SITES = sorted(path.name for path in NOTICES_DIR.iterdir() if (path / "notice.yaml").is_file())
LANGS = ("pl", "en")


@pytest.fixture
def app() -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret"})
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def notices_copy(tmp_path: Path) -> Path:
    """A writable copy of notices/, for tests that edit or break a notice."""
    target = tmp_path / "notices"
    shutil.copytree(NOTICES_DIR, target)
    return target
