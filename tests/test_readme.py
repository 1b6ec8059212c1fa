"""The README's token-verification snippet works as printed, with a key from the CLI."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskCliRunner

from tests.conftest import ROOT


def readme_snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Verifying tokens", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def record(db_app: Flask, site: str) -> str:
    client = db_app.test_client()
    version = client.get(f"/api/v1/sites/{site}/banner").get_json()["notice_version"]
    body = {"action": "reject_all", "notice_version": version, "locale": "pl"}
    response = client.post(f"/api/v1/sites/{site}/consents", json=body)
    assert response.status_code == 201
    token: str = response.get_json()["token"]
    return token


def test_readme_snippet_verifies_tokens_with_the_printed_key(db_app: Flask) -> None:
    runner: FlaskCliRunner = db_app.test_cli_runner()
    keys = runner.invoke(args=["tokens", "site-key", "optingo"]).output.split()
    assert len(keys) == 1 and len(keys[0]) == 64
    code = readme_snippet().replace(
        'SITE_KEYS = ["<the output of: flask --app app tokens site-key optingo>"]',
        f"SITE_KEYS = {keys!r}",
    )
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    consent_choices = namespace["consent_choices"]

    token = record(db_app, "optingo")
    choices = consent_choices(token)
    assert choices["necessary"] is True
    assert choices["advertising"] is False

    payload, timestamp, signature = token.split(".")
    assert consent_choices(f"{payload}.{timestamp}.{signature[:-2]}xx") is None
    assert consent_choices(record(db_app, "xopero")) is None
    assert consent_choices("not-a-token") is None
