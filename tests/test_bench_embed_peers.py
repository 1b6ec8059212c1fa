"""The embed-versus-peers bench's pure parts: its pages, statistics and target verdicts."""

from __future__ import annotations

import html
from typing import Any

import pytest
from flask.testing import FlaskClient

from bench.embed_peers.measure import before_banner, blocking_time
from bench.embed_peers.pages import ARTICLE, ARTICLE_TITLE, CANDIDATES, GATED_CODE, page
from bench.embed_peers.site import peer_file
from bench.embed_peers.stats import p90, summarize, table, verdicts

ZGODA = "http://127.0.0.1:5000"


@pytest.fixture
def config(client: FlaskClient) -> dict[str, Any]:
    """Zgoda's Polish banner configuration for optingo, as the bench reads it."""
    answer = client.get("/api/v1/sites/optingo/banner?lang=pl")
    assert answer.status_code == 200
    data: dict[str, Any] = answer.get_json()
    return data


def test_every_candidate_gets_the_same_article_and_one_gated_script(
    config: dict[str, Any],
) -> None:
    for key in CANDIDATES:
        built = page(key, config, ZGODA)
        assert built.count(f"<h1>{html.escape(ARTICLE_TITLE)}</h1>") == 1, key
        for paragraph in ARTICLE:
            assert built.count(f"<p>{html.escape(paragraph)}</p>") == 1, key
        assert built.count(GATED_CODE) == 1, key


def test_peers_say_what_zgoda_says_and_are_self_hosted(config: dict[str, Any]) -> None:
    optional = [p["name"] for p in config["purposes"] if not p["required"]]
    assert len(optional) >= 3
    for key in ("cookieconsent", "klaro", "tarteaucitron"):
        built = page(key, config, ZGODA)
        for text in ("accept_all", "reject_all", "settings", "body"):
            assert config["texts"][text] in built, (key, text)
        assert ZGODA not in built.replace(config["links"]["privacy"], ""), key
        assert 'src="/peers/' in built, key
    # cookieconsent and Klaro list every optional purpose; tarteaucitron has a service each.
    for key in ("cookieconsent", "klaro", "tarteaucitron"):
        built = page(key, config, ZGODA)
        assert all(name in built for name in optional), key


def test_zgoda_variants_load_their_own_script_from_zgoda() -> None:
    config = {"purposes": [], "texts": {}, "links": {}}
    assert f'src="{ZGODA}/embed.js" data-site="optingo"' in page("zgoda-embed", config, ZGODA)
    assert f'src="{ZGODA}/embed/optingo.js"' in page("zgoda-site", config, ZGODA)


def test_inline_configuration_cannot_close_its_script(config: dict[str, Any]) -> None:
    config["texts"]["body"] = "</script><script>alert(1)</script>"
    assert "</script><script>alert(1)" not in page("cookieconsent", config, ZGODA)


def test_p90_is_the_nearest_rank_and_summary_the_median() -> None:
    assert p90([float(v) for v in range(15, 0, -1)]) == 14
    assert p90([7.0]) == 7
    runs = [{key: float(v) for key in ("banner_ms", "after_bytes_ms", "requests", "bytes", "tbt_ms", "cls", "lcp_ms", "hidden_ms", "input_ms", "handlers_ms", "gated_ms")} for v in (3, 1, 2, 10)]  # fmt: skip
    summary = summarize(runs)
    assert summary["banner_ms"] == (2.5, 10)
    with pytest.raises(ValueError, match="no completed runs"):
        summarize([])


def figures(banner: float, size: float, cls: float = 0.0, hidden: float = 20.0) -> dict[str, Any]:
    """A summary with the same figure as median and p90."""
    values = {
        "banner_ms": banner,
        "after_bytes_ms": 5,
        "requests": 2,
        "bytes": size,
        "tbt_ms": 0,
        "cls": cls,
    }
    values |= {
        "lcp_ms": banner,
        "hidden_ms": hidden,
        "input_ms": 1,
        "handlers_ms": 1,
        "gated_ms": hidden,
    }
    return {key: (value, value) for key, value in values.items()}


def test_banner_target_is_90_percent_of_the_fastest_peer_in_each_condition() -> None:
    summaries = {
        condition: {
            "zgoda-site": figures(900, 9000),
            "zgoda-embed": figures(901, 9000),
            "klaro": figures(1000, 70000),
            "tarteaucitron": figures(1500, 60000),
        }
        for condition in ("unthrottled", "slow4g-cpu4")
    }
    found = {target: met for target, _, met in verdicts(summaries, 6000)}
    for condition in ("unthrottled", "slow4g-cpu4"):
        fastest = "<= 90 % of the fastest peer (klaro)"
        assert found[f"zgoda-site, {condition}: banner visible {fastest}"] is True
        assert found[f"zgoda-embed, {condition}: banner visible {fastest}"] is False
        assert found[f"zgoda-site, {condition}: bytes before the banner the smallest"] is True
        assert found[f"zgoda-site, {condition}: zero layout shift"] is True
    assert found["zgoda-site, slow4g-cpu4: click -> banner hidden <= 50 ms"] is True
    assert not any("unthrottled: click" in target for target in found)
    assert found["the embed with its CSS <= 6 KB gzip (/embed.js as served)"] is True


def test_missed_targets_say_missed() -> None:
    summaries = {
        "slow4g-cpu4": {
            "zgoda-embed": figures(2000, 61000, cls=0.01, hidden=51),
            "cookieconsent": figures(1500, 60000),
        }
    }
    found = verdicts(summaries, 6145)
    assert [met for _, _, met in found] == [False, False, False, False, False]
    assert "133%" in found[0][1]
    with pytest.raises(ValueError, match="no peer"):
        verdicts({"unthrottled": {"zgoda-embed": figures(1, 1)}}, 1)


def test_table_shows_median_and_p90() -> None:
    shown = table({"unthrottled": {"klaro": figures(1234, 2048)}}, {"klaro": "Klaro"})
    assert "| unthrottled | Klaro | 1234 (1234) | 5 (5) | 2 (2) | 2.0 (2.0) |" in shown


def test_blocking_time_counts_the_excess_over_50_ms_inside_the_window() -> None:
    tasks = [[10.0, 200.0], [100.0, 80.0], [150.0, 50.0], [900.0, 120.0]]
    assert blocking_time(tasks, start=50, end=900) == 30
    assert blocking_time(tasks, start=0, end=1000) == 150 + 30 + 70


def test_requests_before_the_banner_are_timed_from_the_document() -> None:
    requests = [
        {"at": 100.0, "bytes": 900},
        {"at": 100.2, "bytes": 6000},
        {"at": 100.6, "bytes": 50},
    ]
    assert before_banner(requests, banner_ms=300) == (2, 6900)
    assert before_banner(requests, banner_ms=600) == (3, 6950)
    assert before_banner([], banner_ms=1) == (0, 0)


def test_customer_origin_serves_nothing_outside_the_peers_folder() -> None:
    assert peer_file("../package.json") is None
    assert peer_file("../../../app.py") is None
