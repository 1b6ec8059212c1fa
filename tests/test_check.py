"""The notice check reads like a review: errors, warnings and info, each with its article,
data path and fix, found by rule where the data can show a defect."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskCliRunner

from app import create_app
from tests.conftest import NOTICES_DIR
from zgoda.notices import Finding, check_notice, load_notice
from zgoda.notices.check import SEVERITIES, counts
from zgoda.notices.model import Notice

NOT_STATED = {"not_stated": {"pl": "brak", "en": "missing"}}


def findings_of(site: str) -> list[Finding]:
    loaded = load_notice(NOTICES_DIR / site)
    return check_notice(site, loaded.notice)


def paths(findings: list[Finding], severity: str) -> set[str]:
    return {finding.path for finding in findings if finding.severity == severity}


@cache
def _optingo_raw() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(
        (NOTICES_DIR / "optingo" / "notice.yaml").read_text(encoding="utf-8")
    )
    return raw


def raw_optingo() -> dict[str, Any]:
    """A fresh copy of Optingo's notice data, to edit."""
    return copy.deepcopy(_optingo_raw())


def check(raw: dict[str, Any]) -> list[Finding]:
    return check_notice("optingo", Notice.model_validate(raw))


def with_purpose(raw: dict[str, Any], **purpose: Any) -> dict[str, Any]:
    raw["purposes"].append(
        {"id": "extra", "name": {"pl": "Cel", "en": "Purpose"}, "retention": NOT_STATED, **purpose}
    )
    return raw


def messages(findings: list[Finding], path_start: str) -> list[Finding]:
    return [finding for finding in findings if finding.path.startswith(path_start)]


# --- the shape of a finding ------------------------------------------------------------


def test_every_finding_has_a_severity_article_path_fix_and_section() -> None:
    for site in ("optingo", "xopero", "apifonica", "cstudios", "opgk-rzeszow"):
        for finding in findings_of(site):
            assert finding.severity in SEVERITIES
            assert finding.article and finding.path and finding.message
            assert finding.fix and "\n" not in finding.fix
            assert finding.section


def test_findings_come_errors_first_and_each_once() -> None:
    findings = findings_of("optingo")
    order = [SEVERITIES.index(finding.severity) for finding in findings]
    assert order == sorted(order)
    keys = [(f.path, f.article, f.message) for f in findings]
    assert len(keys) == len(set(keys))


def test_a_not_stated_item_is_reported_with_its_article() -> None:
    raw = raw_optingo()
    raw.update(dpo=NOT_STATED, supervisory_authorities=NOT_STATED)
    by_path = {finding.path: finding for finding in check(raw)}
    assert by_path["dpo"].article.startswith("Art. 13(1)(b)")
    assert by_path["dpo"].severity == "info"  # a DPO is needed only where Art. 37 says so
    assert by_path["supervisory_authorities"].severity == "warning"
    assert "complaint" in by_path["supervisory_authorities"].message
    assert by_path["supervisory_authorities"].section == "complaint"


# --- each rule: a notice that triggers it, and one that does not -------------------------


def test_automated_decisions_without_an_art_22_ground_or_safeguards_is_an_error() -> None:
    raw = raw_optingo()
    raw["automated_decisions"] = {
        "profiling": True,
        "automated_decisions": True,
        "logic": {"pl": "Ocena", "en": "Scoring"},
    }
    errors = [f for f in check(raw) if f.path == "automated_decisions" and f.severity == "error"]
    assert len(errors) == 1
    assert "22(2)" in errors[0].article and "22(3)" in errors[0].article

    raw["automated_decisions"]["automated_decisions"] = False
    assert not [f for f in check(raw) if f.path == "automated_decisions"]


def test_a_legitimate_interest_naming_consent_or_a_legal_obligation_is_flagged() -> None:
    raw = with_purpose(
        raw_optingo(),
        legal_bases=["f"],
        legitimate_interest={
            "pl": "Wypełnienie obowiązku prawnego; zgoda, gdy o nią poproszono.",
            "en": "Meeting a legal obligation; consent where it was asked for.",
        },
    )
    found = messages(check(raw), "purposes[5] (extra).legitimate_interest")
    assert {("consent" in f.message, "legal obligation" in f.message) for f in found} == {
        (True, False),
        (False, True),
    }
    assert all(f.article.startswith("Art. 6(1)(f)") for f in found)


def test_a_legitimate_interest_acting_in_accordance_with_is_no_consent() -> None:
    raw = with_purpose(
        raw_optingo(),
        legal_bases=["f"],
        legitimate_interest={
            "pl": "Przetwarzanie zgodnie z poleceniami klienta.",
            "en": "Processing as the customer instructs.",
        },
    )
    assert not messages(check(raw), "purposes[5] (extra).legitimate_interest")


def test_a_legitimate_interest_relied_on_but_not_stated_is_a_warning() -> None:
    not_named = {"pl": "Administrator nie wskazuje interesu.", "en": "No interest is named."}
    raw = with_purpose(
        raw_optingo(), legal_bases=["f"], legitimate_interest={"not_stated": not_named}
    )
    found = messages(check(raw), "purposes[5] (extra).legitimate_interest")
    assert [(f.severity, f.article) for f in found] == [("warning", "Art. 13(1)(d)")]
    named = with_purpose(
        raw_optingo(),
        legal_bases=["f"],
        legitimate_interest={"pl": "Obrona przed roszczeniami.", "en": "Defending claims."},
    )
    assert not messages(check(named), "purposes[5] (extra).legitimate_interest")


def test_special_categories_processed_while_the_notice_says_none_are() -> None:
    raw = raw_optingo()
    raw["data_categories"].append(
        {"id": "health", "name": {"pl": "Dane o zdrowiu", "en": "Health data"}}
    )
    raw["purposes"][0]["data_categories"].append("health")
    assert not messages(check(raw), "data_categories[2]")  # the notice does not deny it

    raw["purposes"][0]["description"] = {
        "pl": "Nie przetwarzamy szczególnych kategorii danych.",
        "en": "We process no special categories of data.",
    }
    found = messages(check(raw), "data_categories[2] (health)")
    assert [f.severity for f in found] == ["error"]
    assert "Art. 9(1)" in found[0].article


def test_a_listed_right_the_gdpr_gives_here_but_left_out_is_an_error() -> None:
    raw = raw_optingo()
    raw["rights"] = {"listed": ["access", "withdraw_consent"]}
    found = {f.path: f for f in check(raw) if f.path.startswith("rights.listed")}
    for right in ("rectification", "erasure", "restriction", "objection", "portability"):
        assert found[f"rights.listed ({right})"].severity == "error"
    assert "rights.listed (access)" not in found
    assert "rights.listed (withdraw_consent)" not in found


def test_objection_is_not_required_without_a_public_task_or_legitimate_interest() -> None:
    raw = raw_optingo()
    for purpose in raw["purposes"]:
        purpose["legal_bases"] = ["b"]
        purpose.pop("legitimate_interest", None)
    raw["rights"] = {
        "listed": [
            "access",
            "rectification",
            "erasure",
            "restriction",
            "portability",
            "withdraw_consent",
        ]
    }
    assert not [f for f in check(raw) if f.path.startswith("rights.listed")]


def test_a_complaint_right_made_conditional_is_an_error() -> None:
    raw = raw_optingo()
    raw["rights"]["how_to_exercise"] = {
        "pl": "Przed wniesieniem skargi do organu nadzorczego napisz do nas.",
        "en": "Before lodging a complaint with the supervisory authority, write to us.",
    }
    found = messages(check(raw), "rights.how_to_exercise")
    assert [(f.severity, f.section) for f in found] == [("error", "rights")]  # where it is written
    assert "Art. 77(1)" in found[0].article

    assert not messages(check(raw_optingo()), "rights.how_to_exercise")


@pytest.mark.parametrize(
    ("cookie", "flagged"),
    [
        ({"name": "_ga", "provider": "Optingo"}, True),  # Google Analytics, whoever hosts it
        ({"name": "_ga_ABC123", "provider": "Optingo"}, True),
        ({"name": "_fbp", "provider": "Optingo"}, True),
        ({"name": "pixel", "provider": "Meta"}, True),
        ({"name": "ads", "provider": "Optingo", "ad_vendor": True}, True),
        ({"name": "session", "provider": "Optingo"}, False),
    ],
)
def test_a_required_purpose_with_advertising_or_analytics_cookies_is_an_error(
    cookie: dict[str, Any], flagged: bool
) -> None:
    raw = raw_optingo()
    raw["cookies"]["purposes"][0]["cookies"].append(
        {"party": "first", "duration": "session", **cookie}
    )
    found = [
        f for f in check(raw) if f.path.startswith("cookies.purposes[0]") and f.severity == "error"
    ]
    assert bool(found) is flagged
    if flagged:
        assert "5(3)" in found[0].article


def test_login_cookies_behind_consent_are_flagged() -> None:
    raw = raw_optingo()
    found = messages(check(raw), "cookies.purposes[3] (authentication).required")
    assert [f.severity for f in found] == ["warning"]
    raw["cookies"]["purposes"][3]["required"] = True
    assert not messages(check(raw), "cookies.purposes[3] (authentication).required")


def test_a_cookie_without_a_lifetime_or_provider_is_flagged() -> None:
    raw = raw_optingo()
    raw["cookies"]["purposes"][0]["cookies"].append(
        {"name": "x", "provider": " ", "party": "first", "duration": NOT_STATED}
    )
    index = len(raw["cookies"]["purposes"][0]["cookies"]) - 1  # after Zgoda's own cookies
    found = {f.path for f in check(raw)}
    assert f"cookies.purposes[0] (necessary).cookies[{index}] (x).duration" in found
    assert f"cookies.purposes[0] (necessary).cookies[{index}] (x).provider" in found
    assert "cookies.purposes[0] (necessary).cookies[0] (zgoda_consent).duration" not in found


def test_no_electronic_contact_channel_is_one_finding() -> None:
    raw = raw_optingo()
    raw["controller"]["contact"]["email"] = NOT_STATED
    raw["dpo"] = NOT_STATED
    found = [f for f in check(raw) if f.path.startswith(("controller.contact", "dpo."))]
    assert [f.path for f in found] == ["controller.contact"]
    assert "Recital 59" in found[0].article

    raw["controller"]["contact"]["web_form"] = "https://optingo.eu/contact"
    assert not [f for f in check(raw) if f.path.startswith("controller.contact")]


def test_privacy_shield_named_and_quoted_is_reported_once() -> None:
    shield = [f for f in findings_of("optingo") if "Schrems II" in f.article]
    assert len(shield) == 1
    raw = raw_optingo()
    raw["outdated_statements"] = [
        s for s in raw["outdated_statements"] if s["kind"] != "privacy_shield"
    ]
    shield = [f for f in check(raw) if "Schrems II" in f.article]
    assert [f.path for f in shield] == ["transfers.safeguards (privacy_shield)"]


def test_a_placeholder_left_in_the_data_is_flagged_once_per_text() -> None:
    raw = raw_optingo()
    raw["site_name"] = "TODO: the brand"
    raw["purposes"][0]["name"] = {"pl": "TODO: cel", "en": "TODO: purpose"}
    found = {f.path for f in check(raw) if "placeholder" in f.message}
    assert found == {"site_name", "purposes[0].name"}


# --- the five real notices: what a lawyer raises at a first reading ----------------------


def test_opgk_has_no_email_and_no_complaint_right() -> None:
    findings = findings_of("opgk-rzeszow")
    warnings = paths(findings, "warning")
    assert {"supervisory_authorities", "controller.contact"} <= warnings
    assert any("browser_settings_consent" in p for p in paths(findings, "error"))


def test_optingo_browser_settings_consent_and_privacy_shield_are_errors() -> None:
    errors = paths(findings_of("optingo"), "error")
    assert any("(browser_settings_consent)" in p for p in errors)
    assert any("(privacy_shield)" in p for p in errors)
    warnings = paths(findings_of("optingo"), "warning")
    assert any("(telecom_law_art_173)" in p for p in warnings)
    assert "cookies.purposes[3] (authentication).required" in warnings
    assert "document.version" in paths(findings_of("optingo"), "info")


def test_cstudios_cites_the_repealed_1997_act_and_states_no_bases_or_retention() -> None:
    findings = findings_of("cstudios")
    assert any("(act_1997)" in p for p in paths(findings, "error"))
    warnings = paths(findings, "warning")
    assert any(p.endswith(".legal_bases") for p in warnings)
    assert any(p.endswith(".retention") for p in warnings)
    assert "rights.listed (restriction)" in paths(findings, "error")


def test_xopero_automated_decisions_lack_art_22_safeguards() -> None:
    findings = findings_of("xopero")
    assert "automated_decisions" in paths(findings, "error")
    assert "dpo" not in paths(findings, "info")


def test_apifonica_a_legal_obligation_called_a_legitimate_interest_and_an_access_fee() -> None:
    findings = findings_of("apifonica")
    assert "supervisory_authorities" not in paths(findings, "warning")
    assert any(
        f.path.endswith(".legitimate_interest") and "legal obligation" in f.message
        for f in findings
    )
    fee = [f for f in findings if "12(5)" in f.article]
    assert fee and fee[0].severity == "error" and fee[0].section == "rights"


# --- the command ------------------------------------------------------------------------


def test_cli_check_groups_findings_by_severity(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["notices", "check"])
    assert result.exit_code == 0, result.output
    for site in ("optingo", "xopero", "apifonica", "cstudios", "opgk-rzeszow"):
        assert f"{site}  (" in result.output
    optingo = result.output.split("optingo  (", 1)[1].split("\nxopero", 1)[0]
    assert optingo.index("  errors:") < optingo.index("  warnings:") < optingo.index("  info:")
    assert "outdated_statements[0] (browser_settings_consent)  [" in optingo
    assert "fix: " in optingo


def test_cli_check_one_site(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["notices", "check", "cstudios"])
    assert result.exit_code == 0
    assert "cstudios  (" in result.output
    assert "optingo  (" not in result.output


def test_cli_check_json(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["notices", "check", "xopero", "--format", "json"])
    assert result.exit_code == 0, result.output
    (site,) = json.loads(result.output)["sites"]
    assert site["site"] == "xopero"
    assert site["counts"] == counts(findings_of("xopero"))
    first = site["findings"][0]
    assert set(first) == {"site_id", "severity", "path", "article", "message", "fix", "section"}


@pytest.mark.parametrize(("site", "exit_code"), [("xopero", 1), (None, 1)])
def test_cli_check_strict_fails_on_errors(
    runner: FlaskCliRunner, site: str | None, exit_code: int
) -> None:
    result = runner.invoke(args=["notices", "check", *([site] if site else []), "--strict"])
    assert result.exit_code == exit_code
    assert "(--strict)" in result.output


def test_cli_check_strict_passes_without_errors(notices_copy: Path) -> None:
    for site in [p for p in notices_copy.iterdir() if p.is_dir() and p.name != "optingo"]:
        for child in site.iterdir():
            child.unlink()
        site.rmdir()
    raw = raw_optingo()
    raw["outdated_statements"] = []
    raw["transfers"]["safeguards"] = ["standard_contractual_clauses"]
    raw["rights"]["listed"].append("withdraw_consent")
    (notices_copy / "optingo" / "notice.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test-secret", "NOTICES_DIR": str(notices_copy)}
    )
    assert counts(app.extensions["zgoda_notices"].findings["optingo"])["error"] == 0
    result = app.test_cli_runner().invoke(args=["notices", "check", "--strict"])
    assert result.exit_code == 0, result.output


def test_cli_check_unknown_site_is_a_usage_error(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["notices", "check", "nope"])
    assert result.exit_code == 2
    assert "unknown site 'nope'" in result.output


def test_findings_are_logged_once_at_start_up(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO"):
        create_app({"TESTING": True})
    logged = [
        record.getMessage() for record in caplog.records if "notice optingo" in record.getMessage()
    ]
    assert len(logged) == len(findings_of("optingo"))
