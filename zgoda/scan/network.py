"""What Chromium reports about one browser context's network, and whose site a host is.

Kept per request through a DevTools session: its type, whether it carried cookies, the
cookies its response set, how big its body was. Cookie writes from scripts are reported by
a small accessor installed before any page script runs, naming the script that wrote them
(from the call stack).
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page

from zgoda.scan.observations import ThirdPartyRequest

# Shapes of a tracking request, not a list of trackers: a tiny image or a beacon-like path.
PIXEL_MAX_BYTES = 200
BEACON_PATH = re.compile(r"(\.gif$|/(collect|pixel|beacon|track|tr|event|hit)(/|$|\?))", re.I)

COOKIE_WRITES_JS = """(() => {
  const real = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
  if (!real || !real.set || !window.__zgodaScanCookieWrite) return;
  Object.defineProperty(Document.prototype, 'cookie', {
    configurable: true, enumerable: real.enumerable,
    get() { return real.get.call(this); },
    set(value) {
      try {
        const frames = (new Error().stack || '').split('\\n').slice(2);
        const hit = frames.map(f => f.match(/(https?:\\/\\/[^\\s)]+?):\\d+:\\d+/)).find(Boolean);
        window.__zgodaScanCookieWrite(String(value).split('=')[0].trim(), hit ? hit[1] : location.href);
      } catch (e) {}
      real.set.call(this, value);
    },
  });
})();"""


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address or localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def site_of(host: str) -> str:
    """The site a host belongs to: an IP address itself, else its last two labels (no public
    suffix list, so a host under co.uk counts as its own site only by its last two labels)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host
    except ValueError:
        return ".".join(host.rstrip(".").split(".")[-2:])


@dataclass
class _Request:
    url: str
    resource_type: str
    after_choice: bool
    sent_cookies: bool = False
    set_cookies: list[str] = field(default_factory=list)
    body_bytes: int = 0


class Recorder:
    """Collects what Chromium reports about one context's requests and cookie writes."""

    def __init__(self, page_site: str) -> None:
        self.page_site = page_site
        self.requests: dict[str, _Request] = {}
        self.cookie_writes: dict[str, str] = {}  # cookie name -> script URL, last write wins
        self.after_choice = False
        self.in_flight = 0
        self.last_activity = time.monotonic()

    def attach(self, context: BrowserContext, page: Page) -> None:
        """Listen to the page's network through a DevTools session of its own."""
        cdp = context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestWillBeSentExtraInfo", self._sent_extra)
        cdp.on("Network.responseReceivedExtraInfo", self._received_extra)
        cdp.on("Network.dataReceived", self._data)
        cdp.send("Network.enable")
        page.on("request", lambda _: self._activity(+1))
        page.on("requestfinished", lambda _: self._activity(-1))
        page.on("requestfailed", lambda _: self._activity(-1))

    def _activity(self, change: int) -> None:
        self.in_flight = max(0, self.in_flight + change)
        self.last_activity = time.monotonic()

    def _entry(self, request_id: str) -> _Request:
        return self.requests.setdefault(request_id, _Request("", "Other", self.after_choice))

    def _sent(self, event: dict[str, Any]) -> None:
        entry = self._entry(event["requestId"])
        entry.url = event["request"]["url"]
        entry.resource_type = event.get("type", "Other")
        entry.after_choice = self.after_choice

    def _sent_extra(self, event: dict[str, Any]) -> None:
        headers = {k.lower(): v for k, v in event.get("headers", {}).items()}
        if headers.get("cookie"):
            self._entry(event["requestId"]).sent_cookies = True

    def _received_extra(self, event: dict[str, Any]) -> None:
        headers = {k.lower(): v for k, v in event.get("headers", {}).items()}
        for line in str(headers.get("set-cookie", "")).splitlines():
            if "=" in line:
                self._entry(event["requestId"]).set_cookies.append(line.split("=", 1)[0].strip())

    def _data(self, event: dict[str, Any]) -> None:
        self._entry(event["requestId"]).body_bytes += int(event.get("dataLength", 0))

    def cookie_written(self, _source: Any, name: str, script: str) -> None:
        """A page script assigned document.cookie (the binding the accessor calls)."""
        self.cookie_writes[name] = script

    def setter_of(self, name: str) -> str | None:
        """The script or response that set cookie `name` last, if Chromium said so."""
        for entry in reversed(list(self.requests.values())):
            if name in entry.set_cookies:
                return f"response {entry.url}"
        script = self.cookie_writes.get(name)
        return f"script {script}" if script else None

    def third_party(self) -> tuple[ThirdPartyRequest, ...]:
        """The requests to other sites than the page's, with their shape."""
        found = []
        for entry in self.requests.values():
            parts = urlsplit(entry.url)
            host = parts.hostname or ""
            if parts.scheme not in ("http", "https") or site_of(host) == self.page_site:
                continue
            tiny = entry.resource_type == "Image" and entry.body_bytes <= PIXEL_MAX_BYTES
            pixel = entry.resource_type == "Ping" or tiny or bool(BEACON_PATH.search(parts.path))
            found.append(
                ThirdPartyRequest(
                    url=entry.url,
                    host=host,
                    resource_type=entry.resource_type,
                    sent_cookies=entry.sent_cookies,
                    pixel_like=pixel,
                    after_choice=entry.after_choice,
                )
            )
        return tuple(found)
