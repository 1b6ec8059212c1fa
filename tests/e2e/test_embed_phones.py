"""Every button of both layers in view on phones, for every seed site's real text, in both languages.

The text may scroll; the actions never. Screenshots go to a pytest tmp dir (printed).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.conftest import LANGS, NOTICES_DIR
from tests.e2e.customer.banner import first_layer, open_shop, preferences
from tests.e2e.pixels import darkest

SITES = sorted(p.name for p in NOTICES_DIR.iterdir() if (p / "notice.yaml").is_file())
PHONES = [(320, 568), (360, 740), (375, 667), (390, 844)]
FIRST_LAYER = {
    "pl": ("Akceptuj wszystkie", "Odrzuć wszystkie", "Ustawienia"),
    "en": ("Accept all", "Reject all", "Settings"),
}
PREFERENCES = {
    "pl": ("Zapisz wybór", "Akceptuj wszystkie", "Odrzuć wszystkie", "Zamknij"),
    "en": ("Save choices", "Accept all", "Reject all", "Close"),
}
# Is the element at the button's centre (seen through the shadow root) the button itself?
ON_TOP = """button => {
    const r = button.getBoundingClientRect();
    const hit = button.getRootNode().elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
    return button.contains(hit);
}"""


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("phones")
    print(f"\nphone screenshots: {folder}")
    return folder


@pytest.fixture
def phone(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    width, height = request.param
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=True, has_touch=True
    )
    yield context.new_page()
    context.close()


def assert_in_view(page: Page, button: Locator) -> dict[str, float]:
    """The button lies fully inside the viewport and nothing covers its centre."""
    viewport = page.viewport_size
    assert viewport is not None
    box = button.bounding_box()
    assert box is not None, button
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= viewport["width"] + 0.5, box
    assert box["y"] + box["height"] <= viewport["height"] + 0.5, box
    assert button.evaluate(ON_TOP), f"{button} is covered"
    return box


@pytest.mark.parametrize("phone", PHONES, indirect=True, ids=lambda v: f"{v[0]}x{v[1]}")
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("site", SITES)
def test_every_button_is_in_view_without_scrolling(
    customer: str, phone: Page, site: str, lang: str, shots: Path
) -> None:
    page = phone
    viewport = page.viewport_size
    assert viewport is not None
    name = f"{site}-{lang}-{viewport['width']}x{viewport['height']}"
    open_shop(page, customer, f"lang={lang}&site={site}")
    layer = first_layer(page)
    boxes = [
        assert_in_view(page, layer.get_by_role("button", name=label, exact=True))
        for label in FIRST_LAYER[lang]
    ]
    widths = [b["width"] for b in boxes]
    heights = [b["height"] for b in boxes]
    assert max(widths) - min(widths) <= 1 and max(heights) - min(heights) <= 1, boxes
    page.screenshot(path=str(shots / f"{name}-banner.png"))

    layer.get_by_role("button", name=FIRST_LAYER[lang][2], exact=True).click()
    dialog = preferences(page)
    expect(dialog).to_be_visible()
    for summary in dialog.locator("summary").all():  # the longest the text can get
        summary.click()
    for label in PREFERENCES[lang]:
        assert_in_view(page, dialog.get_by_role("button", name=label, exact=True))
    page.screenshot(path=str(shots / f"{name}-preferences.png"))


# The banner's scroll area, its text hidden so that only its backgrounds are left to see.
TEXT_AREA = "zgoda-consent div.banner .text"
NO_TEXT = "t => { t.style.color = 'transparent'; t.querySelectorAll('a').forEach(a => a.style.color = 'transparent'); }"


def edge(page: Page, which: str) -> bytes:
    """A screenshot of the scroll area's top or bottom 6 pixels."""
    box = page.locator(TEXT_AREA).bounding_box()
    assert box is not None
    y = box["y"] if which == "top" else box["y"] + box["height"] - 6
    return page.screenshot(clip={"x": box["x"], "y": y, "width": box["width"], "height": 6})


@pytest.mark.parametrize("phone", [(320, 568)], indirect=True, ids=["320x568"])
def test_a_shadow_at_the_edge_says_there_is_more_text_that_way(customer: str, phone: Page) -> None:
    page = phone
    open_shop(page, customer, "lang=pl")
    text = page.locator(TEXT_AREA)
    assert text.evaluate("t => t.scrollHeight > t.clientHeight + 40"), "nothing to scroll"
    text.evaluate(NO_TEXT)
    # At the start: more below (a shadow at the bottom), nothing above (white at the top).
    assert darkest(edge(page, "bottom")) < 230 and darkest(edge(page, "top")) == 255
    text.evaluate("t => { t.scrollTop = t.scrollHeight; }")
    page.wait_for_timeout(100)
    # At the end: the shadow moved to the top.
    assert darkest(edge(page, "top")) < 230 and darkest(edge(page, "bottom")) == 255
