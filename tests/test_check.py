"""The completeness check reports what a notice lacks and what it states wrongly."""

from __future__ import annotations

import pytest
import yaml
from flask.testing import FlaskCliRunner

from app import create_app
from tests.conftest import NOTICES_DIR
from zgoda.notices import Finding, check_notice, load_notice
from zgoda.notices.model import Notice


def findings_of(site: str) -> list[Finding]:
    loaded = load_notice(NOTICES_DIR / site)
    return check_notice(site, loaded.notice)


def paths(findings: list[Finding], severity: str) -> set[str]:
    return {finding.path for finding in findings if finding.severity == severity}


def optingo_with(**changes: object) -> Notice:
    raw = yaml.safe_load((NOTICES_DIR / "optingo" / "notice.yaml").read_text(encoding="utf-8"))
    raw.update(changes)
    return Notice.model_validate(raw)


def test_a_not_stated_item_is_reported_with_its_article() -> None:
    gap = {"not_stated": {"pl": "brak", "en": "missing"}}
    findings = check_notice("optingo", optingo_with(dpo=gap, supervisory_authorities=gap))
    by_path = {finding.path: finding for finding in findings}
    assert by_path["dpo"].article == "Art. 13(1)(b)"
    assert by_path["dpo"].severity == "missing"
    assert by_path["supervisory_authorities"].article == "Art. 13(2)(d)"


def test_rights_missing_from_the_list_are_reported_one_by_one() -> None:
    findings = check_notice("optingo", optingo_with(rights={"listed": ["access"]}))
    missing = paths(findings, "missing")
    for right in ("rectification", "erasure", "restriction", "objection", "portability"):
        assert f"rights.listed ({right})" in missing
    assert "rights.listed (access)" not in missing


def test_optingo_outdated_statements_are_flagged() -> None:
    findings = findings_of("optingo")
    outdated = {
        finding.path.split(" ")[1] for finding in findings if finding.severity == "outdated"
    }
    assert {"(browser_settings_consent)", "(telecom_law_art_173)", "(privacy_shield)"} <= outdated
    articles = {finding.article for finding in findings if finding.severity == "outdated"}
    assert any("Planet49" in article for article in articles)
    assert any("Schrems II" in article for article in articles)


def test_optingo_gaps_match_the_source() -> None:
    missing = paths(findings_of("optingo"), "missing")
    assert "document.version" in missing  # the source gives only "August 2021"
    assert "dpo" not in missing  # iodo@optingo.eu is the data protection officer
    assert "purposes[3] (recruitment).retention" in missing


def test_cstudios_cites_the_repealed_1997_act() -> None:
    findings = findings_of("cstudios")
    assert any(f.severity == "outdated" and "act_1997" in f.path for f in findings)
    assert any(f.path.endswith(".legal_bases") for f in findings)


def test_opgk_states_no_complaint_right_and_no_email() -> None:
    missing = paths(findings_of("opgk-rzeszow"), "missing")
    assert {"supervisory_authorities", "controller.contact.email"} <= missing


def test_apifonica_names_authorities_and_dpo() -> None:
    missing = paths(findings_of("apifonica"), "missing")
    assert "supervisory_authorities" not in missing
    assert "dpo" not in missing
    assert "document.version" not in missing


def test_xopero_has_a_dpo_and_automated_decisions() -> None:
    missing = paths(findings_of("xopero"), "missing")
    assert "dpo" not in missing
    assert "automated_decisions" not in missing
    # the source copy hides both e-mail addresses behind "[email protected]"
    assert {"controller.contact.email", "dpo.contact.email"} <= missing


def test_cli_check_prints_findings_per_site_and_exits_zero(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["notices", "check"])
    assert result.exit_code == 0, result.output
    for site in ("optingo", "xopero", "apifonica", "cstudios", "opgk-rzeszow"):
        assert f"{site}  (" in result.output
    assert "outdated_statements[0] (browser_settings_consent)" in result.output
    assert "Art. 13(1)(b)" in result.output


def test_cli_check_one_site(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["notices", "check", "cstudios"])
    assert result.exit_code == 0
    assert "cstudios  (" in result.output
    assert "optingo  (" not in result.output


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
