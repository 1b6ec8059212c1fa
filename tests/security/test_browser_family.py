"""The browser family the log keeps, checked against a corpus of real user-agent strings.

The corpus is the test data of Matomo's DeviceDetector (LGPL-3.0-or-later), as the PyPI
package `device-detector` ships it (tests/fixtures/upstream/*.yml): some 38,000 real
user-agents, each with the client (browser, app, library...) or bot the parser finds in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import pytest
import yaml_rs

from zgoda.web.client import user_agent_family

# Reads a corpus of 38,271 user-agents: part of the full run, not of the quick one.
pytestmark = pytest.mark.slow

# Matomo's browser names that are one of our families; other browsers (Yandex, UC Browser,
# Chrome Webview, Samsung's or Huawei's own...) are "other" to Matomo and are not checked.
FAMILY_OF_BROWSER = {
    "Chrome": "Chrome",
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chromium": "Chrome",
    "Firefox": "Firefox",
    "Firefox Focus": "Firefox",
    "Firefox Mobile": "Firefox",
    "Firefox Mobile iOS": "Firefox",
    "Firefox Reality": "Firefox",
    "Firefox Rocket": "Firefox",
    "Microsoft Edge": "Edge",
    "Mobile Safari": "Safari",
    "Safari": "Safari",
    "Opera": "Opera",
    "Opera Devices": "Opera",
    "Opera GX": "Opera",
    "Opera Mini": "Opera",
    "Opera Mini iOS": "Opera",
    "Opera Mobile": "Opera",
    "Opera Neon": "Opera",
    "Opera Next": "Opera",
    "Opera Touch": "Opera",
    "Samsung Browser": "Samsung Internet",
}
# Clients a person uses. Matomo's "library" clients (curl, Wget, python-requests...) are
# automated too, and we may call them bots.
PERSON_CLIENTS = {"browser", "mobile app", "feed reader", "mediaplayer", "pim", "messaging"}
# Bots that must be "bot": the crawlers of search engines, classic and AI. Matomo's other
# bot categories (site monitors, security scanners, link previews...) often name nothing but
# a product, and "other" is an acceptable family for them.
CRAWLER_CATEGORIES = {"Search bot", "AI Search Crawler"}

# Where the corpus and we disagree, and why; each entry must still be in the corpus and still
# disagree (test_every_known_disagreement_is_still_one).
KNOWN_DISAGREEMENTS = {
    # Matomo reads the Motorola Edge 20 phone's model as Microsoft Edge, version 20.
    "Mozilla/5.0 (Linux; Android 12; Moto Edge 20) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/111.0.5563.115 Mobile Safari/537.36": "Chrome",
    # Search crawlers that name only themselves: no crawler word, no "+http" contact address.
    "CATExplorador/1.0beta (sistemes at domini dot cat; http://domini.cat/catexplorador.html)": (
        "other"
    ),
    "linkdex.com/v2.0 and linkdex.com/v2.1": "other",
    "omgili/0.5 +http://omgili.com": "other",
    "Mozilla/5.0 (compatible; tracemyfile/1.0)": "other",
}

# What a page's script sends is the browser's navigator.userAgent, which starts "Mozilla/"
# (or "Opera/" for Opera before 2013). The corpus also holds what other parts of a system
# send (Safari's "CFNetwork" downloads, TV firmware's "smarttv_..._Chromium_88"): the
# family of a browser is checked on a browser's own user-agents only.
BROWSER_USER_AGENT = re.compile(r"(?:mozilla|opera)/", re.IGNORECASE)


@dataclass(frozen=True)
class Sample:
    """One corpus entry: the user-agent and what Matomo says sent it."""

    user_agent: str
    file: str
    client_type: str | None = None
    client_name: str | None = None
    bot_category: str | None = None  # None unless a bot ("" for an uncategorised bot)
    uses_client_hints: bool = False  # Matomo also read Sec-CH-UA headers, which we never see

    @property
    def is_bot(self) -> bool:
        return self.bot_category is not None


def corpus_dir() -> Path:
    spec = find_spec("device_detector")
    assert spec is not None and spec.submodule_search_locations, "pip install device-detector"
    return Path(spec.submodule_search_locations[0]) / "tests" / "fixtures" / "upstream"


@cache
def corpus() -> tuple[Sample, ...]:
    samples = []
    for path in sorted(corpus_dir().glob("*.yml")):
        for entry in yaml_rs.loads(path.read_text(encoding="utf-8")) or []:
            client = entry.get("client") or {}
            bot = entry.get("bot")
            samples.append(
                Sample(
                    user_agent=str(entry["user_agent"]),
                    file=path.name,
                    client_type=client.get("type"),
                    client_name=client.get("name"),
                    bot_category=None if bot is None else (bot.get("category") or ""),
                    uses_client_hints=bool(entry.get("headers")),
                )
            )
    return tuple(samples)


def disagreements(samples: Iterable[tuple[Sample, str]]) -> list[str]:
    """'file: expected, got: user-agent' for each sample classified otherwise, but the known."""
    wrong = []
    for sample, expected in samples:
        got = user_agent_family(sample.user_agent)
        if got != expected and KNOWN_DISAGREEMENTS.get(sample.user_agent) != got:
            wrong.append(f"{sample.file}: {expected}, got {got}: {sample.user_agent}")
    return wrong


def report(wrong: list[str], checked: int) -> str:
    return f"{len(wrong)} of {checked} classified wrongly, e.g.\n" + "\n".join(wrong[:20])


def test_the_corpus_is_installed_whole() -> None:
    samples = corpus()
    assert len(samples) > 30_000
    assert sum(sample.is_bot for sample in samples) > 1_000


def test_every_browser_of_our_families_is_named_so() -> None:
    checked = [
        (sample, FAMILY_OF_BROWSER[sample.client_name])
        for sample in corpus()
        if sample.client_type == "browser"
        and sample.client_name in FAMILY_OF_BROWSER
        and not sample.uses_client_hints
        and BROWSER_USER_AGENT.match(sample.user_agent)
    ]
    assert len(checked) > 20_000
    wrong = disagreements(checked)
    assert not wrong, report(wrong, len(checked))


def test_no_person_is_taken_for_a_bot() -> None:
    """Phones named CUBOT or XBot, apps and feed readers: what a person uses is never a bot."""
    people = [
        sample for sample in corpus() if not sample.is_bot and sample.client_type in PERSON_CLIENTS
    ]
    assert len(people) > 35_000
    bots = [
        f"{sample.file}: {sample.client_name}: {sample.user_agent}"
        for sample in people
        if user_agent_family(sample.user_agent) == "bot"
    ]
    assert not bots, report(bots, len(people))


def test_search_engine_crawlers_are_bots() -> None:
    crawlers = [(sample, "bot") for sample in corpus() if sample.bot_category in CRAWLER_CATEGORIES]
    assert len(crawlers) > 250
    wrong = disagreements(crawlers)
    assert not wrong, report(wrong, len(crawlers))


def test_every_known_disagreement_is_still_one() -> None:
    in_corpus = {sample.user_agent for sample in corpus()}
    for user_agent, family in KNOWN_DISAGREEMENTS.items():
        assert user_agent in in_corpus
        assert user_agent_family(user_agent) == family


@pytest.mark.parametrize(
    ("user_agent", "family"),
    [
        (
            "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/86.0.4240.99 Mobile Safari/537.36",
            "Chrome",
        ),
        (
            "Mozilla/5.0 (Linux; Android 8.1.0; XBot_Senior Build/O11019) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/65.0.3325.109 Mobile Safari/537.36",
            "Chrome",
        ),
        (
            "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/41.0.2272.96 Mobile Safari/537.36 "
            "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "bot",
        ),
        ("", "unknown"),
    ],
    ids=["cubot-phone", "xbot-phone", "googlebot-smartphone", "no-user-agent"],
)
def test_phones_named_like_bots_and_bots_named_like_phones(user_agent: str, family: str) -> None:
    assert user_agent_family(user_agent) == family
