"""The Node.js and PHP token checks of docs/snippets/ say what Zgoda says, on tokens it issued.

Each check runs in its real runtime (Debian's `node` and `php`, which `make install-dev`
installs) through the snippets' JSON-on-stdin wrappers; Zgoda's verdict comes from
`read_consent` and the README's Python snippet on the same tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import SignatureExpired, URLSafeTimedSerializer

from app import create_app
from tests.conftest import ROOT
from tests.test_readme import readme_snippet
from zgoda.consent import state as consent_state
from zgoda.consent.rules import rules_for
from zgoda.consent.state import Consent, ConsentState, read_consent
from zgoda.consent.tokens import TOKEN_SALT, site_serializer
from zgoda.notices.registry import notice_registry
from zgoda.store.migrate import upgrade
from zgoda.web.tokens_ext import consent_tokens

SNIPPETS = ROOT / "docs" / "snippets"
RUNTIMES = {
    "node": ["node", str(SNIPPETS / "verify_token_cli.mjs")],
    "php": ["php", str(SNIPPETS / "verify_token_cli.php")],
}
SECRET = "backend-snippets-test-secret-of-32-bytes"
FAR_FUTURE = 7258118400  # 2200-01-01: past any consent lifetime
# What the snippets answer for each state Zgoda reads a token in (None: the consent applies).
# The snippets know only the key, so a token another site signed is a bad signature to them.
SNIPPET_REASON = {
    ConsentState.VALID: None,
    ConsentState.STALE: None,
    ConsentState.EXPIRED: "expired",
    ConsentState.FORGED: "bad_signature",
    ConsentState.OTHER_SITE: "bad_signature",
    ConsentState.MALFORMED: "malformed",
}
CHOICES = {
    "statistics": True,
    "functional": False,
    "authentication": True,
    "analytics": False,
    "advertising": True,
    "social_media": False,
}


def make_app(database: Path, **settings: Any) -> Flask:
    base = {"TESTING": True, "SECRET_KEY": SECRET, "DATABASE_URL": f"sqlite:///{database}"}
    app = create_app(base | settings)
    upgrade(app)
    return app


def record(
    client: FlaskClient, site: str, action: str, choices: dict[str, bool] | None = None
) -> dict[str, Any]:
    """Record a choice through the API; its 201 answer."""
    version = client.get(f"/api/v1/sites/{site}/banner").get_json()["notice_version"]
    body = {"action": action, "notice_version": version, "locale": "pl", "choices": choices}
    response = client.post(f"/api/v1/sites/{site}/consents", json=body)
    assert response.status_code == 201, response.get_json()
    answer: dict[str, Any] = response.get_json()
    return answer


def printed_keys(app: Flask, site: str) -> list[str]:
    """The site's keys as `flask tokens site-key` prints them, newest last."""
    result = app.test_cli_runner().invoke(args=["tokens", "site-key", site])
    assert result.exit_code == 0, result.output
    return result.output.split()


@dataclass(frozen=True)
class Issued:
    """An app and the real tokens it issued, with the key its owner hands a backend."""

    app: Flask
    keys: list[str]
    custom: dict[str, Any]  # the API's answer to a custom choice on optingo
    rejected: dict[str, Any]  # ... to Reject all on optingo
    other_site_token: str  # a choice on xopero


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Issued]:
    database = tmp_path_factory.mktemp("snippets") / "zgoda.sqlite3"
    shutil.copyfile(sqlite_template, database)  # a migrated log, cheaper than migrating
    app = make_app(database)
    client = app.test_client()
    yield Issued(
        app,
        printed_keys(app, "optingo"),
        record(client, "optingo", "custom", CHOICES),
        record(client, "optingo", "reject_all"),
        record(client, "xopero", "accept_all")["token"],
    )
    app.extensions["zgoda_db"].dispose()


@pytest.fixture(scope="module")
def readme_choices(issued: Issued) -> Any:
    """The README's Python snippet's consent_choices, given the printed key."""
    code = readme_snippet().replace(
        'SITE_KEYS = ["<the output of: flask --app app tokens site-key optingo>"]',
        f"SITE_KEYS = {issued.keys!r}",
    )
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    return namespace["consent_choices"]


def run(runtime: str, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The snippet's results for each {"token", "keys", "now"?} case, run in `runtime`."""
    finished = subprocess.run(  # noqa: S603 - our own argument list
        RUNTIMES[runtime], input=json.dumps(cases), capture_output=True, text=True, timeout=30
    )
    assert finished.returncode == 0, finished.stderr
    results: list[dict[str, Any]] = json.loads(finished.stdout)
    assert len(results) == len(cases)
    return results


def zgoda_reads(app: Flask, token: str, site: str = "optingo") -> Consent:
    """What Zgoda itself makes of `token` for `site` (what /verify answers from)."""
    with app.app_context():
        rules = rules_for(notice_registry().notices[site])
        return read_consent(consent_tokens(), rules, token)


def change_char(part: str, index: int) -> str:
    """`part` with the base64url character at `index` replaced by another one."""
    replacement = "A" if part[index] != "A" else "B"
    return part[:index] + replacement + part[index + 1 :]


def payload_char_changed(token: str) -> str:
    """The token with one payload character changed so that the payload still reads as a
    consent: only the signature can tell."""
    payload, timestamp, signature = token.split(".")
    for index in range(len(payload) - 1):
        changed = change_char(payload, index)
        try:
            decoded = json.loads(base64.urlsafe_b64decode(changed + "=" * (-len(changed) % 4)))
        except ValueError:
            continue
        if isinstance(decoded, dict) and decoded.get("site") == "optingo":
            return f"{changed}.{timestamp}.{signature}"
    raise AssertionError("no single-character change keeps this payload readable")


def encode(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(text).rstrip(b"=").decode()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_valid_token_gives_its_consent(runtime: str, issued: Issued, readme_choices: Any) -> None:
    answers = [issued.custom, issued.rejected]
    results = run(runtime, [{"token": a["token"], "keys": issued.keys} for a in answers])
    for answer, result in zip(answers, results, strict=True):
        assert result["valid"] is True, result
        consent = result["consent"]
        zgoda = zgoda_reads(issued.app, answer["token"])
        assert zgoda.state is ConsentState.VALID
        assert consent["consentId"] == answer["consent_id"] == zgoda.consent_id
        assert consent["choices"] == answer["choices"] == zgoda.recorded
        assert consent["choices"] == readme_choices(answer["token"])
        assert consent["noticeVersion"] == answer["notice_version"]
        assert (
            zgoda.payload is not None and consent["noticeVersion"] == zgoda.payload.notice_version
        )
        assert consent["site"] == "optingo"
        expires_at = datetime.fromisoformat(answer["expires_at"]).timestamp()
        assert consent["expiresAt"] == int(expires_at) == zgoda.payload.expires_at
        assert consent["issuedAt"] == zgoda.payload.issued_at
        assert abs(consent["signedAt"] - consent["issuedAt"]) <= 1
    assert results[0]["consent"]["choices"]["advertising"] is True
    assert results[1]["consent"]["choices"]["advertising"] is False
    assert results[1]["consent"]["choices"]["necessary"] is True


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_changed_character_is_a_bad_signature(
    runtime: str, issued: Issued, readme_choices: Any
) -> None:
    token = issued.custom["token"]
    payload, timestamp, signature = token.split(".")
    granted = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    granted["ch"] = dict.fromkeys(granted["ch"], 1)
    tampered = [
        payload_char_changed(token),
        f"{payload}.{timestamp}.{change_char(signature, len(signature) // 2)}",
        f"{payload}.{change_char(timestamp, 1)}.{signature}",
        f"{encode(granted)}.{timestamp}.{signature}",  # every purpose granted
    ]
    assert token not in tampered
    results = run(runtime, [{"token": t, "keys": issued.keys} for t in tampered])
    for changed, result in zip(tampered, results, strict=True):
        assert result == {
            "valid": False,
            "reason": "bad_signature",
            "message": "the signature does not match the site's key",
        }
        assert zgoda_reads(issued.app, changed).state is ConsentState.FORGED
        assert readme_choices(changed) is None


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_another_sites_token_is_refused(runtime: str, issued: Issued, readme_choices: Any) -> None:
    # optingo's key in another Zgoda instance (another secret): signing needs no database.
    another = create_app({"TESTING": True, "SECRET_KEY": "another-zgoda-secret-of-32-bytes"})
    foreign_keys = printed_keys(another, "optingo")
    assert foreign_keys != issued.keys
    cases = [
        {"token": issued.other_site_token, "keys": issued.keys},  # xopero's token
        {"token": issued.custom["token"], "keys": foreign_keys},
    ]
    results = run(runtime, cases)
    assert [result["reason"] for result in results] == ["bad_signature", "bad_signature"]
    assert not any(result["valid"] for result in results)
    assert zgoda_reads(issued.app, issued.other_site_token).state is ConsentState.OTHER_SITE
    assert readme_choices(issued.other_site_token) is None


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_an_expired_token_is_refused_as_expired(
    runtime: str, issued: Issued, readme_choices: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = issued.custom["token"]
    expires_at = run(runtime, [{"token": token, "keys": issued.keys}])[0]["consent"]["expiresAt"]
    moments = [expires_at - 1, expires_at, FAR_FUTURE]
    results = run(runtime, [{"token": token, "keys": issued.keys, "now": t} for t in moments])
    assert results[0]["valid"] is True
    for result in results[1:]:
        assert result == {"valid": False, "reason": "expired", "message": "the consent has expired"}
    for moment, result in zip(moments, results, strict=True):
        freeze_clock(monkeypatch, moment)
        state = zgoda_reads(issued.app, token).state
        assert SNIPPET_REASON[state] == result.get("reason"), (moment, state)
        assert (readme_choices(token) is None) is (not result["valid"])


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_max_age_refuses_a_token_signed_longer_ago(
    runtime: str, issued: Issued, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = issued.custom["token"]
    signed_at = run(runtime, [{"token": token, "keys": issued.keys}])[0]["consent"]["signedAt"]
    moments = [signed_at + 60, signed_at + 61]
    cases = [{"token": token, "keys": issued.keys, "now": t, "maxAge": 60} for t in moments]
    assert [result.get("reason") for result in run(runtime, cases)] == [None, "expired"]
    # itsdangerous's own max_age, at the same moments.
    freeze_clock(monkeypatch, moments[0])
    assert (
        site_serializer(issued.keys).loads(token, max_age=60)["cid"] == issued.custom["consent_id"]
    )
    freeze_clock(monkeypatch, moments[1])
    with pytest.raises(SignatureExpired):
        site_serializer(issued.keys).loads(token, max_age=60)


def freeze_clock(monkeypatch: pytest.MonkeyPatch, moment: int) -> None:
    """Zgoda's clocks (time.time for the signature, datetime.now for the state) at `moment`."""

    class FrozenDatetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> FrozenDatetime:
            return cls.fromtimestamp(moment, tz)

    monkeypatch.setattr(time, "time", lambda: float(moment))
    monkeypatch.setattr(consent_state, "datetime", FrozenDatetime)


def signed(issued: Issued, payload: Any) -> str:
    """`payload` signed with optingo's real key: only Zgoda (or the key's holder) makes such."""
    return str(site_serializer(issued.keys).dumps(payload))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_malformed_token_is_refused_as_malformed(runtime: str, issued: Issued) -> None:
    token = issued.custom["token"]
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    compressible = payload | {"nv": "a" * 64}
    compressed = URLSafeTimedSerializer(
        issued.keys, salt=TOKEN_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    ).dumps(compressible)
    assert compressed.startswith(".")  # itsdangerous's zlib flag, which Zgoda never sets
    # The same payload signed the same way is a valid token: what is refused below is its shape.
    resigned = run(runtime, [{"token": signed(issued, payload), "keys": issued.keys}])
    assert resigned[0]["valid"] is True
    # An empty cookie is no token to Zgoda (no choice made), and no consent to the snippets.
    assert run(runtime, [{"token": "", "keys": issued.keys}])[0]["reason"] == "malformed"
    assert zgoda_reads(issued.app, "").state is ConsentState.NONE
    no_cid = {k: v for k, v in payload.items() if k != "cid"}
    # Each not-a-token, and what Zgoda itself reads it as.
    malformed = {
        "not-a-token": ConsentState.MALFORMED,
        "x" * 5000: ConsentState.MALFORMED,
        compressed: ConsentState.MALFORMED,
        signed(issued, no_cid): ConsentState.MALFORMED,
        signed(issued, payload | {"ch": {"statistics": True}}): ConsentState.MALFORMED,  # not 1
        signed(issued, ["a", "list"]): ConsentState.MALFORMED,
        # Zgoda reads the payload before the signature, so it calls these forged; the snippets
        # check the shape first (three base64url parts, nothing else) and read nothing unsigned.
        token.rsplit(".", 1)[0]: ConsentState.FORGED,  # the signature cut off
        f"{token}.{token}": ConsentState.FORGED,
        # itsdangerous decodes the signature leniently (padding allowed); the snippets accept
        # only the unpadded base64url Zgoda writes. Same MAC: no forgery gets through either.
        f"{token}=": ConsentState.VALID,
    }
    results = run(runtime, [{"token": t, "keys": issued.keys} for t in malformed])
    for (bad, zgoda_state), result in zip(malformed.items(), results, strict=True):
        assert result["valid"] is False and result["reason"] == "malformed", (bad[:40], result)
        assert zgoda_reads(issued.app, bad).state is zgoda_state, bad[:40]


@pytest.fixture
def rotated(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """The app after a secret rotation: a new secret signs, the old one still verifies."""
    database = tmp_path / "rotated.sqlite3"
    shutil.copyfile(sqlite_template, database)
    app = make_app(database, SECRET_KEY=SECRET + "-new", SECRET_KEY_FALLBACKS=[SECRET])
    yield app
    app.extensions["zgoda_db"].dispose()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_keys_newest_last_verify_tokens_of_the_old_secret(
    runtime: str, issued: Issued, rotated: Flask
) -> None:
    keys = printed_keys(rotated, "optingo")
    assert len(keys) == 2 and keys[0] == issued.keys[0]
    new_token = record(rotated.test_client(), "optingo", "accept_all")["token"]
    cases = [
        {"token": issued.custom["token"], "keys": keys},
        {"token": new_token, "keys": keys},
        {"token": issued.custom["token"], "keys": keys[-1:]},  # the old secret's key dropped
    ]
    results = run(runtime, cases)
    assert [r["valid"] for r in results] == [True, True, False]
    assert results[0]["consent"]["consentId"] == issued.custom["consent_id"]
    assert results[2]["reason"] == "bad_signature"


def readme_example(language: str) -> str:
    """The README's example call of one snippet, its comment made a print."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("### Verifying tokens", 1)[1]
    found = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert found, f"no {language} example under 'Verifying tokens'"
    say = {"js": "console.log('statistics');", "php": "echo 'statistics';"}[language]
    return found.group(1).replace("// load the statistics scripts", say)


@pytest.mark.parametrize("answer", ["custom", "rejected"])
def test_the_readme_examples_run_as_printed(answer: str, issued: Issued) -> None:
    token = getattr(issued, answer)["token"]
    granted = getattr(issued, answer)["choices"]["statistics"]
    env = os.environ | {"ZGODA_SITE_KEY": issued.keys[-1]}
    node_code = f"const request = {{cookies: {{zgoda_consent: {json.dumps(token)}}}}};\n"
    php_code = f"<?php $_COOKIE['zgoda_consent'] = {json.dumps(token)};\n"
    runs = {
        "node": ["node", "--input-type=module", "-e", node_code + readme_example("js")],
        "php": ["php", "-r", php_code.removeprefix("<?php ") + readme_example("php")],
    }
    for command in runs.values():
        finished = subprocess.run(  # noqa: S603 - our own argument list
            command, cwd=SNIPPETS, env=env, capture_output=True, text=True, timeout=30
        )
        assert finished.returncode == 0, finished.stderr
        assert finished.stdout.split() == (["statistics"] if granted else [])
