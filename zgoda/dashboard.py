"""The dashboard's numbers: opt-in rate per purpose over time, choices per action and language.

The window is bounded (`MAX_DAYS`) and read in one streamed pass over the site's
`(site_id, recorded_at)` index, aggregating in Python: the per-purpose choices are JSON,
which SQLite and PostgreSQL query differently. Days are UTC days.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from sqlalchemy import Engine, select

from zgoda.consent import Action
from zgoda.notices.model import LOCALES
from zgoda.store.tables import consent_events

DEFAULT_DAYS = 30
MAX_DAYS = 365
DAILY_UP_TO = 92  # longer windows are drawn per week (Monday to Sunday)
# A visitor's decisions; the log's own entries (such as an erasure) are not counted.
DECISIONS = tuple(action.value for action in Action)

Bucket = Literal["day", "week"]


@dataclass(frozen=True)
class DashboardStats:
    """Counts for one site over a window of days; periods are days or weeks."""

    start: date
    end: date
    bucket: Bucket
    periods: list[date]
    decisions: list[int]
    granted: dict[str, list[int]]
    actions: dict[str, int] = field(default_factory=dict)
    locales: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Decisions in the whole window."""
        return sum(self.decisions)

    def rates(self, purpose: str) -> list[float | None]:
        """The share of decisions granting `purpose`, per period (None: no decision then)."""
        return [
            granted / decided if decided else None
            for granted, decided in zip(self.granted[purpose], self.decisions, strict=True)
        ]

    def overall_rate(self, purpose: str) -> float | None:
        """The share of all decisions in the window that granted `purpose`."""
        return sum(self.granted[purpose]) / self.total if self.total else None


def window_days(requested: str | None) -> int:
    """The ?days= value as a whole number of days from 1 to MAX_DAYS (DEFAULT_DAYS if unusable)."""
    try:
        days = int(requested or DEFAULT_DAYS)
    except ValueError:
        return DEFAULT_DAYS
    return min(max(days, 1), MAX_DAYS)


def dashboard_stats(
    engine: Engine,
    site_id: str,
    purposes: Sequence[str],
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
) -> DashboardStats:
    """The site's decisions of the last `days` UTC days (today included), per period."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    start = today - timedelta(days=days - 1)
    bucket: Bucket = "day" if days <= DAILY_UP_TO else "week"
    step = 1 if bucket == "day" else 7
    first = start if bucket == "day" else start - timedelta(days=start.weekday())
    periods = [
        first + timedelta(days=offset) for offset in range(0, (today - first).days + 1, step)
    ]
    decisions = [0] * len(periods)
    granted = {purpose: [0] * len(periods) for purpose in purposes}
    actions: Counter[str] = Counter()
    locales: Counter[str] = Counter()
    query = select(
        consent_events.c.recorded_at,
        consent_events.c.action,
        consent_events.c.locale,
        consent_events.c.choices,
    ).where(
        consent_events.c.site_id == site_id,
        consent_events.c.recorded_at >= datetime.combine(start, time(), UTC),
        consent_events.c.recorded_at < datetime.combine(today + timedelta(days=1), time(), UTC),
        consent_events.c.action.in_(DECISIONS),
    )
    with engine.connect() as connection:
        rows = connection.execution_options(yield_per=2000).execute(query)
        for recorded_at, action, locale, choices in rows:
            day = _utc(recorded_at).date()
            index = (day - first).days // step
            decisions[index] += 1
            actions[action] += 1
            locales[locale] += 1
            for purpose in purposes:
                if choices.get(purpose) is True:
                    granted[purpose][index] += 1
    return DashboardStats(
        start=start,
        end=today,
        bucket=bucket,
        periods=periods,
        decisions=decisions,
        granted=granted,
        actions={action: actions[action] for action in DECISIONS},
        locales=dict.fromkeys(LOCALES, 0) | dict(sorted(locales.items())),
    )


def _utc(moment: datetime) -> datetime:
    # SQLite keeps no time zone; every time we store is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
