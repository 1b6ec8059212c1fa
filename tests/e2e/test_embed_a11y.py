"""The banner and its preferences layer for keyboard, screen-reader and small-screen users.

Screenshots of both layers in both languages go to tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import LANGS
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.customer.banner import first_layer, open_shop, preferences, reopen_button
from tests.e2e.test_pages_a11y import axe_violations

BUTTONS = {
    "pl": ("Akceptuj wszystkie", "Odrzuć wszystkie", "Ustawienia"),
    "en": ("Accept all", "Reject all", "Settings"),
}
# The element focused inside the shadow root, described for assertions.
FOCUSED = """() => {
    let a = document.activeElement;
    while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
    const dialog = document.querySelector('zgoda-consent').shadowRoot.querySelector('dialog');
    return {
        tag: a.tagName.toLowerCase(), cls: a.className, text: (a.textContent || '').trim(),
        label: a.labels && a.labels[0] ? a.labels[0].textContent : null,
        inDialog: dialog.contains(a), outline: getComputedStyle(a).outlineStyle,
    };
}"""


def focused(page: Page) -> dict[str, object]:
    result: dict[str, object] = page.evaluate(FOCUSED)
    return result


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"embed-{name}.png"))


def open_every_details(page: Page) -> None:
    for summary in preferences(page).locator("summary").all():
        summary.click()


@pytest.mark.parametrize("lang", LANGS)
def test_both_layers_have_no_axe_violations(customer: str, page: Page, lang: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    open_shop(page, customer, f"lang={lang}")
    assert axe_violations(page) == []
    screenshot(page, f"banner-{lang}")

    first_layer(page).get_by_role("button", name=BUTTONS[lang][2]).click()
    expect(preferences(page)).to_be_visible()
    screenshot(page, f"preferences-{lang}")
    open_every_details(page)
    assert axe_violations(page) == []
    # Optingo's advertising purpose lists services: with one of them on, the purpose is "mixed".
    services = preferences(page).locator("ul.services")
    expect(services).to_have_count(1)
    services.get_by_role("checkbox").first.check()
    assert preferences(page).locator("input:indeterminate").count() == 1
    screenshot(page, f"preferences-services-{lang}")
    assert axe_violations(page) == []


@pytest.mark.parametrize("lang", LANGS)
def test_both_layers_reflow_at_320_pixels(customer: str, page: Page, lang: str) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    open_shop(page, customer, f"lang={lang}")
    layer = first_layer(page)
    assert layer.evaluate("e => e.scrollWidth <= e.clientWidth")
    box = layer.bounding_box()
    assert box is not None and box["width"] <= 320
    widths = set()
    for name in BUTTONS[lang]:
        button = layer.get_by_role("button", name=name)
        button.scroll_into_view_if_needed()
        expect(button).to_be_in_viewport()
        button_box = button.bounding_box()
        assert button_box is not None
        widths.add(round(button_box["width"]))
    assert len(widths) == 1
    screenshot(page, f"banner-320-{lang}")

    layer.get_by_role("button", name=BUTTONS[lang][2]).click()
    dialog = preferences(page)
    expect(dialog).to_be_visible()
    screenshot(page, f"preferences-320-{lang}")
    open_every_details(page)
    assert dialog.evaluate("e => e.scrollWidth <= e.clientWidth")
    dialog_box = dialog.bounding_box()
    assert dialog_box is not None and dialog_box["width"] <= 320


def test_at_200_percent_zoom_the_banner_leaves_room_for_the_page(customer: str, page: Page) -> None:
    # 1280 x 800 at 200 % zoom lays out like a 640 x 400 viewport.
    page.set_viewport_size({"width": 640, "height": 400})
    open_shop(page, customer, "lang=pl")
    layer = first_layer(page)
    box = layer.bounding_box()
    assert box is not None and box["height"] <= 0.7 * 400 + 1
    heading = page.get_by_role("heading", name="Customer shop").bounding_box()
    assert heading is not None and heading["y"] + heading["height"] <= box["y"]
    for name in BUTTONS["pl"]:
        button = layer.get_by_role("button", name=name)
        button.scroll_into_view_if_needed()
        expect(button).to_be_in_viewport()
    screenshot(page, "banner-zoom-200-pl")


def test_keyboard_only_through_both_layers(customer: str, page: Page) -> None:
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    open_shop(page, customer)
    # the first layer takes the focus when nothing else had it
    assert focused(page)["cls"] == "banner"
    for expected in ("Privacy notice", "Cookie policy", "Accept all", "Reject all", "Settings"):
        page.keyboard.press("Tab")
        assert focused(page)["text"] == expected
        assert focused(page)["outline"] == "solid"  # visible focus
    page.keyboard.press("Enter")
    dialog = preferences(page)
    expect(dialog).to_be_visible()
    assert focused(page)["inDialog"]

    # focus stays inside the preferences layer, both ways round
    stops = dialog.locator("button, input, summary").count()
    for key in ["Tab"] * (stops + 2) + ["Shift+Tab"] * (stops + 2):
        page.keyboard.press(key)
        assert focused(page)["inDialog"], key

    # Escape closes it without recording anything, and focus returns to Settings
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert focused(page)["text"] == "Settings"
    assert posts == []

    # a custom choice with Space and Enter only
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    for _ in range(stops + 1):
        if focused(page)["label"] == "Statistics":
            break
        page.keyboard.press("Tab")
    assert focused(page)["label"] == "Statistics"
    page.keyboard.press("Space")
    for _ in range(stops + 1):
        if focused(page)["text"] == "Save choices":
            break
        page.keyboard.press("Tab")
    with page.expect_response("**/consents") as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 201
    assert answer.value.json()["choices"]["statistics"] is True
    expect(dialog).to_be_hidden()
    expect(first_layer(page)).to_be_hidden()

    # the persistent button now has the focus, and opens the settings again
    assert focused(page)["cls"] == "reopen"
    expect(reopen_button(page)).to_be_visible()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("checkbox", name="Statistics")).to_be_checked()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert focused(page)["cls"] == "reopen"
    assert len(posts) == 1
