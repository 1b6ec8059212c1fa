"""The consent log: tables, engine, migrations, appending and reading events."""

from zgoda.store.event import ConsentEvent
from zgoda.store.log import append_event, count_events, events_for, iter_events

__all__ = ["ConsentEvent", "append_event", "count_events", "events_for", "iter_events"]
