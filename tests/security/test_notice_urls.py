"""Every address in notice data is https:, http:, mailto: or tel:; a javascript: one stops the load."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from app import create_app
from tests.conftest import NOTICES_DIR, SITES
from zgoda.errors import NoticeError
from zgoda.notices import load_notice
from zgoda.notices.model import EmailAddress, SafeUrl

BAD = "'javascript:alert(1)'"

# Each address field of the notice model: (site, a line of its notice.yaml, that line with
# the address made a javascript: URL, the field the error must name). A field no real notice
# fills is added after the line.
ADDRESS_FIELDS = {
    "website": ("optingo", "website: https://optingo.eu\n", f"website: {BAD}\n"),
    "document.source_url": (
        "xopero",
        "  source_url: https://xopero.com/data-protection-policy/\n",
        f"  source_url: {BAD}\n",
    ),
    "controller.contact.email": (
        "optingo",
        "    email: office@optingo.eu\n",
        f"    email: {BAD}\n",
    ),
    "controller.contact.web_form": (
        "optingo",
        "    email: office@optingo.eu\n",
        f"    email: office@optingo.eu\n    web_form: {BAD}\n",
    ),
    "dpo.contact.email": ("optingo", "    email: iodo@optingo.eu\n", f"    email: {BAD}\n"),
    "dpo.contact.web_form": (
        "optingo",
        "    email: iodo@optingo.eu\n",
        f"    email: iodo@optingo.eu\n    web_form: {BAD}\n",
    ),
    "supervisory_authorities.0.email": (
        "apifonica",
        "    email: info@aki.ee\n",
        f"    email: {BAD}\n",
    ),
    "embed.allowed_origins.0": (
        "optingo",
        "  domains: [optingo.eu, optingo.digital]\n",
        f"  domains: [optingo.eu, optingo.digital]\n  allowed_origins: [{BAD}]\n",
    ),
}


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def edit(path: Path, line: str, replacement: str) -> str:
    text = path.read_text(encoding="utf-8")
    assert text.count(line) == 1, f"{line!r} is not once in {path}"
    text = text.replace(line, replacement)
    path.write_text(text, encoding="utf-8")
    return text


@pytest.mark.parametrize("field", ADDRESS_FIELDS)
def test_a_javascript_url_stops_the_notice_naming_file_line_and_field(
    notices_copy: Path, field: str
) -> None:
    site, line, replacement = ADDRESS_FIELDS[field]
    path = notices_copy / site / "notice.yaml"
    text = edit(path, line, replacement)
    with pytest.raises(NoticeError) as caught:
        load_notice(notices_copy / site)
    assert (caught.value.path, caught.value.field) == (path, field)
    assert caught.value.line == line_of(text, BAD)
    assert f"{path}:{caught.value.line}: field '{field}': " in str(caught.value)
    assert "javascript" in str(caught.value)


@pytest.mark.parametrize("site", SITES)
def test_the_real_notices_still_load(site: str) -> None:
    assert load_notice(NOTICES_DIR / site).site_id == site


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "javascript://example.com/%0aalert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "ftp://example.com/",
        "blob:https://example.com/0",
        "//example.com/form",
        "www.example.com",
        "example.com/form",
        "/privacy",
        "https:example.com",
        "https://",
        "https:///path",
        "https:\\\\example.com",
        'https://example.com/"onmouseover=alert(1)',
        "https://example.com/<script>",
        "mailto:",
        "tel:",
        "",
    ],
)
def test_anything_but_a_web_mail_or_phone_url_is_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(SafeUrl).validate_python(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://optingo.eu",
        "https://xopero.com/data-protection-policy/",
        "HTTPS://example.com/Form?a=1&b=2#top",
        "http://example.com:8080/form",
        "https://[2001:db8::1]/form",
        "mailto:iodo@optingo.eu",
        "mailto:iodo@optingo.eu?subject=RODO",
        "tel:+48177400000",
    ],
)
def test_web_mail_and_phone_urls_are_accepted(url: str) -> None:
    assert TypeAdapter(SafeUrl).validate_python(url) == url


@pytest.mark.parametrize(
    "address",
    ["javascript:alert(1)", "mailto:iodo@optingo.eu", "iodo@optingo.eu?cc=x@example.com", "iodo"],
)
def test_an_email_field_holds_an_address_and_nothing_else(address: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(EmailAddress).validate_python(address)
    assert TypeAdapter(EmailAddress).validate_python("iodo@optingo.eu") == "iodo@optingo.eu"


def test_the_privacy_page_links_a_web_form_through_an_escaped_href(notices_copy: Path) -> None:
    form = "https://optingo.eu/form?topic=rodo&lang=pl"
    edit(
        notices_copy / "optingo" / "notice.yaml",
        "    email: office@optingo.eu\n",
        f"    email: office@optingo.eu\n    web_form: {form}\n",
    )
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "NOTICES_DIR": notices_copy})
    page = app.test_client().get("/optingo/privacy?lang=en").get_data(as_text=True)
    assert '<a href="https://optingo.eu/form?topic=rodo&amp;lang=pl">' in page
    assert '<a href="mailto:office@optingo.eu">' in page
