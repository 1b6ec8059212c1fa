"""The cookie scanner: what a website really stores and sends, held against its notice."""

from zgoda.scan.browser import ScanFailed, ScanLimits
from zgoda.scan.findings import ScanFinding, violations
from zgoda.scan.report import ScanReport, scan_site

__all__ = ["ScanFailed", "ScanFinding", "ScanLimits", "ScanReport", "scan_site", "violations"]
