"""Policy data: the model, loading notice files, and the completeness check."""

from zgoda.notices.check import Finding, check_notice
from zgoda.notices.loader import LoadedNotice, load_notice, load_notices
from zgoda.notices.model import Notice, NotStated, Text
from zgoda.notices.registry import NoticeRegistry, notice_registry

__all__ = [
    "Finding",
    "LoadedNotice",
    "NotStated",
    "Notice",
    "NoticeRegistry",
    "Text",
    "check_notice",
    "load_notice",
    "load_notices",
    "notice_registry",
]
