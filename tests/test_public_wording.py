"""Public pages speak to the visitor: no talk of sources or copies, no invalid clause, careful dates."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.conftest import LANGS, NOTICES_DIR, SITES
from tests.test_pages import PAGES, visible_text
from zgoda.notices import load_notice

# How Zgoda's own working copy leaks into a page: none of this is the visitor's business.
ABOUT_THE_SOURCE = {
    "pl": [
        r"(?i)źródł",  # źródło, Źródłowa polityka, według źródła...
        r"\bkopi\w* (źródła|polityki|dokumentu)",
        r"\b(dostępn|posiadan)\w* kopii",
    ],
    "en": [
        r"\bsources?\b",
        r"\bsource policy\b",
        r"\b(the|our|available) copy\b",
    ],
}

# Invalid clauses, as their wording would read if a page printed them as operative.
INVALID_CLAUSES = [
    r"\bart(\.|ykuł\w*)\s*173",
    r"\bPraw\w* [Tt]elekomunikacyjn",
    r"Telecommunications Law",
    r"\b1997\b",
    r"stanowi zgodę",
    r"\boświadczasz\b",
    r"you represent that",
    r"\bby (using|registering)\b",
    r"\b(korzystając|rejestrując)\b",
]

# Polish addressed to the reader without masculine-only forms, and the product's name undeclined.
POLISH_FORMS = [
    r"\w+łeś\b",  # podałeś, zgodziłeś się, osiągnąłeś
    r"\bpowinieneś\b",
    r"\b(jesteś|zostajesz|zostaniesz|będziesz|możesz być)( \w+)? \w+(any|ony|ęty|ni)\b",
    r"\bprzez Zgodę\b",
    r"\bWersja treści\b",
]

NOMINATIVE_MONTHS = "styczeń|luty|marzec|kwiecień|maj|czerwiec|lipiec|sierpień|wrzesień|październik|listopad|grudzień"
GENITIVE_MONTHS = "stycznia|lutego|marca|kwietnia|maja|czerwca|lipca|sierpnia|września|października|listopada|grudnia"
ENGLISH_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
)
BANNED = {
    "pl": [
        *ABOUT_THE_SOURCE["pl"],
        *INVALID_CLAUSES,
        *POLISH_FORMS,
        rf"\b({NOMINATIVE_MONTHS}) \d{{4}}",  # a month and year in the nominative
        rf"\b({GENITIVE_MONTHS}) \d{{4}}(?! r\.)",  # a date without "r."
        r", (PL|EE|LV)(?![\w-])|\((PL|EE|LV)\)",  # a country as its code
    ],
    "en": [
        *ABOUT_THE_SOURCE["en"],
        *INVALID_CLAUSES,
        r"\bContent version\b",
        rf"\b({ENGLISH_MONTHS}) \d{{1,2}}, \d{{4}}",  # American order
        r", (PL|EE|LV)(?![\w-])|\((PL|EE|LV)\)",
    ],
}

DATES = {
    ("optingo", "pl"): "od sierpnia 2021 r.",
    ("optingo", "en"): "from August 2021",
    ("apifonica", "pl"): "od 9 września 2024 r.",
    ("apifonica", "en"): "from 9 September 2024",
}


def page_text(client: FlaskClient, site: str, page: str, lang: str) -> str:
    response = client.get(f"/{site}/{page}?lang={lang}")
    assert response.status_code == 200
    return visible_text(response.get_data(as_text=True))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("site", SITES)
def test_no_banned_wording_on_a_public_page(
    client: FlaskClient, site: str, page: str, lang: str
) -> None:
    text = page_text(client, site, page, lang)
    found = {
        pattern: match.group(0) for pattern in BANNED[lang] if (match := re.search(pattern, text))
    }
    assert not found


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("site", SITES)
def test_no_outdated_statement_is_printed(
    client: FlaskClient, site: str, page: str, lang: str
) -> None:
    text = page_text(client, site, page, lang)
    notice = load_notice(NOTICES_DIR / site).notice
    printed = [s.quote for s in notice.outdated_statements if " ".join(s.quote.split()) in text]
    assert not printed


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(("site", "lang"), sorted(DATES))
def test_the_effective_date_reads_as_a_careful_writer_writes_it(
    client: FlaskClient, site: str, lang: str, page: str
) -> None:
    text = page_text(client, site, page, lang)
    assert DATES[site, lang] in text.replace("Obowiązuje od ", "od ").replace(
        "In force from ", "from "
    )


@pytest.mark.parametrize("lang", LANGS)
def test_countries_are_named(client: FlaskClient, lang: str) -> None:
    text = page_text(client, "apifonica", "privacy", lang)
    assert "Tallinn, Estonia" in text  # the same name in both languages
    assert ("(Łotwa)" if lang == "pl" else "(Latvia)") in text
    assert ("Rzeszów, Polska" if lang == "pl" else "Rzeszów, Poland") in page_text(
        client, "opgk-rzeszow", "privacy", lang
    )


@pytest.mark.parametrize("site", SITES)
def test_the_complaint_to_puodo_is_always_given(client: FlaskClient, site: str) -> None:
    polish = page_text(client, site, "privacy", "pl")
    english = page_text(client, site, "privacy", "en")
    assert (
        "Prezes Urzędu Ochrony Danych Osobowych (Prezes UODO), ul. Stawki 2, 00-193 Warszawa"
        in polish
    )
    assert "ul. Stawki 2, 00-193 Warszawa" in english
