"""What bounds a scan (its timeouts) and how a scan fails; free of Playwright, so the app
and its dashboard import it without the browser driver."""

from __future__ import annotations

from dataclasses import dataclass

from zgoda.errors import ZgodaError


class ScanFailed(ZgodaError):
    """The site could not be scanned: down, too slow, or a page that never finished loading."""


class NoZgodaBanner(ZgodaError):
    """The page shows no Zgoda banner, so the choice states cannot be reached."""


@dataclass(frozen=True)
class ScanLimits:
    """How long a scan may take: per page load, in all, and waiting for the banner (seconds)."""

    page_timeout: float = 15.0
    total_timeout: float = 300.0
    banner_timeout: float = 5.0
    quiet: float = 0.15  # no request for this long counts as settled
    settle_cap: float = 3.0  # a page that never goes quiet is read after this long
    only_loopback: bool = False  # tests: refuse every request that would leave the machine
