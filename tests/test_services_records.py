"""Per-service choices in what the log gives out: exports, webhooks, receipts, the form."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine

from tests.test_api import OPTIONAL, SERVICES, SITE, record
from tests.test_dashboard import new_key, sign_in
from tests.test_preferences import form_fields
from tests.test_receipts import open_receipt, receipt
from tests.test_services import FACEBOOK, GOOGLE, LINKEDIN, OTHERS
from tests.test_store import make_event
from tests.test_webhooks import outbox
from zgoda.consent import rules_for
from zgoda.export import export_chunks
from zgoda.notices.registry import EXTENSION_KEY as NOTICES_KEY
from zgoda.store import iter_events
from zgoda.store.db import engine
from zgoda.store.log import append_event
from zgoda.webhooks.payload import event_body

# Google Ads allowed, the other two networks refused: advertising is partly on.
PARTLY = dict.fromkeys(OPTIONAL, False) | {FACEBOOK: False, LINKEDIN: False, GOOGLE: True}
RECORDED = PARTLY | {"necessary": True}


@pytest.fixture
def bound(db_app: Flask) -> Engine:
    with db_app.app_context():
        return engine()


@pytest.fixture
def runner(db_app: Flask) -> FlaskCliRunner:
    return db_app.test_cli_runner()


def consents(runner: FlaskCliRunner, *args: str | Path) -> str:
    result = runner.invoke(args=["consents", *(str(arg) for arg in args)])
    assert result.exit_code == 0, result.output
    return result.output


def service_log(bound: Engine) -> None:
    """Four records: one per service state, and an older one that names no service."""
    for choices in (
        RECORDED,
        RECORDED | dict.fromkeys(SERVICES, True) | {"advertising": True},
        RECORDED | {GOOGLE: False},
        {"necessary": True, "statistics": True, "advertising": False},
    ):
        append_event(bound, make_event(choices=choices))


# --- exports -----------------------------------------------------------------------------


def test_the_csv_has_a_column_per_service_right_after_its_purpose(
    db_app: Flask, runner: FlaskCliRunner, bound: Engine
) -> None:
    service_log(bound)
    rows = list(
        csv.DictReader(io.StringIO(consents(runner, "export", "--site", SITE, "--format", "csv")))
    )
    header = [c for c in rows[0] if c.startswith("purpose:")]
    purposes = db_app.extensions[NOTICES_KEY].notices[SITE].notice.cookies.purposes
    expected = [f"purpose:{p.id}" for p in purposes]
    at = expected.index("purpose:advertising") + 1
    expected[at:at] = [f"purpose:{key}" for key in (FACEBOOK, LINKEDIN, GOOGLE)]
    assert header == expected
    assert [row[f"purpose:{GOOGLE}"] for row in rows] == ["true", "true", "false", ""]
    assert [row["purpose:advertising"] for row in rows] == ["false", "true", "false", "false"]
    assert all(row["other_choices"] == "" for row in rows)


@pytest.mark.parametrize("name", ["log.csv", "log.ndjson.gz"])
def test_an_export_with_services_verifies(
    runner: FlaskCliRunner, bound: Engine, tmp_path: Path, name: str
) -> None:
    service_log(bound)
    fmt = "csv" if ".csv" in name else "ndjson"
    consents(runner, "export", "--site", SITE, "--format", fmt, "--output", tmp_path / name)
    assert consents(runner, "verify", tmp_path / name).startswith("OK: 4 records")
    if fmt == "ndjson":
        assert consents(runner, "export", "--site", SITE, "--format", "ndjson").count(GOOGLE) == 3


def test_an_export_written_before_services_still_verifies(
    db_app: Flask, runner: FlaskCliRunner, bound: Engine, tmp_path: Path
) -> None:
    """An older export has purpose columns only: the service keys went to other_choices."""
    service_log(bound)
    with db_app.app_context():
        purposes = rules_for(db_app.extensions[NOTICES_KEY].notices[SITE]).purposes
    path = tmp_path / "older.csv"
    path.write_text("".join(export_chunks(bound, SITE, "csv", purposes)), encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert f"purpose:{GOOGLE}" not in rows[0]
    assert json.loads(rows[0]["other_choices"])[GOOGLE] is True
    assert consents(runner, "verify", path).startswith("OK: 4 records")


# --- webhooks ----------------------------------------------------------------------------


def test_the_webhook_carries_the_service_keys_beside_the_purposes() -> None:
    body = json.loads(event_body(make_event(choices=RECORDED).record() | {"sequence": 1}))
    assert body["data"]["choices"] == RECORDED


def test_a_recorded_choice_is_queued_with_its_service_keys(
    db_app: Flask, runner: FlaskCliRunner, bound: Engine
) -> None:
    result = runner.invoke(args=["webhooks", "add", SITE, "https://hooks.example.com/zgoda"])
    assert result.exit_code == 0, result.output
    record(db_app.test_client(), action="custom", choices=PARTLY)
    [delivery] = outbox(bound)
    assert json.loads(delivery.payload)["data"]["choices"] == RECORDED


# --- receipts ----------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "partly"), [("en", "Partly allowed"), ("pl", "częściowo")])
def test_the_receipt_lists_each_service_under_its_purpose(
    db_app: Flask, lang: str, partly: str
) -> None:
    client = db_app.test_client()
    body = record(client, action="custom", choices=PARTLY)
    markup = open_receipt(client, body["consent_id"], body["token"], lang=lang)
    current = markup.split('id="current-h"')[1].split('id="history-h"')[0]
    name = "Reklama (remarketing)" if lang == "pl" else "Advertising (remarketing)"
    allowed, refused = ("Zgoda", "Brak zgody") if lang == "pl" else ("Allowed", "Not allowed")
    assert re.search(rf"{re.escape(name)}</th>\s*<td>[^<]*{partly}", current)
    for service, provider, state in [
        ("Facebook Ads", "Facebook", refused),
        ("LinkedIn Ads", "LinkedIn", refused),
        ("Google Ads (Google AdWords)", "Google", allowed),
    ]:
        label = re.escape(f"{name}: {service} ({provider})")
        assert re.search(rf"{label}</th>\s*<td>{state}</td>", current)
    history = markup.split('id="history-h"')[1]
    assert re.search(rf"{re.escape(name)} \([^)]*{partly.split()[0].lower()}", history)


def test_a_partly_allowed_purpose_keeps_the_consent_active_in_the_json_receipt(
    db_app: Flask,
) -> None:
    client = db_app.test_client()
    body = record(client, action="custom", choices=PARTLY)
    kantara = receipt(client, body["consent_id"], body["token"])
    assert kantara["status"] == "active"
    [purpose] = kantara["services"][0]["purposes"]
    assert purpose["purposeCategory"] == ["advertising"]
    assert purpose["thirdPartyName"] == "Google" and purpose["allowedServices"] == ["google_ads"]
    assert kantara["choices"] == RECORDED


# --- the form without JavaScript ---------------------------------------------------------


def post_form(db_app: Flask, **fields: str) -> str:
    client = db_app.test_client()
    data = form_fields(client) | {"action": "custom"} | fields
    response = client.post("/optingo/cookies/preferences?lang=en", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client.get("/optingo/cookies?lang=en&saved=1").get_data(as_text=True)


def test_the_form_offers_a_checkbox_per_service_and_records_them(db_app: Flask) -> None:
    page = post_form(db_app, **{f"service-{GOOGLE}": "on", "purpose-statistics": "on"})
    with db_app.app_context():
        [event] = iter_events(engine(), SITE)
    assert event.choices == RECORDED | {"statistics": True}
    assert f'name="service-{GOOGLE}" checked' in page
    assert f'name="service-{FACEBOOK}">' in page and 'name="purpose-advertising"' not in page
    assert re.search(r"<legend>Advertising \(remarketing\) \(partly on\)</legend>", page)
    assert 'value="withdraw"' in page  # a service allowed is a consent to withdraw


def test_every_service_ticked_allows_the_purpose(db_app: Flask) -> None:
    page = post_form(db_app, **{f"service-{key}": "on" for key in SERVICES})
    with db_app.app_context():
        [event] = iter_events(engine(), SITE)
    assert event.choices["advertising"] is True and all(event.choices[k] for k in SERVICES)
    assert "(partly on)" not in page


def test_a_ticked_purpose_of_a_form_without_service_boxes_allows_its_services(
    db_app: Flask,
) -> None:
    post_form(db_app, **{"purpose-advertising": "on"})
    with db_app.app_context():
        [event] = iter_events(engine(), SITE)
    assert event.choices["advertising"] is True and all(event.choices[k] for k in SERVICES)


def test_the_pages_name_each_service_and_its_provider(db_app: Flask) -> None:
    client = db_app.test_client()
    for page in ("cookies", "privacy"):
        markup = client.get(f"/optingo/{page}?lang=en").get_data(as_text=True)
        assert "<li>LinkedIn Ads (provider: LinkedIn)</li>" in markup
        assert "<li>Google Ads (Google AdWords) (provider: Google)</li>" in markup


def test_the_dashboard_shows_each_services_opt_in_rate(db_app: Flask, bound: Engine) -> None:
    service_log(bound)
    client = db_app.test_client()
    sign_in(client, new_key(db_app))
    markup = client.get(f"/admin/{SITE}?lang=en").get_data(as_text=True)
    assert "Advertising (remarketing): Google Ads (Google AdWords)" in markup
    assert set(OTHERS) and "Advertising (remarketing): Facebook Ads" in markup
