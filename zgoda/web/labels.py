"""The visitor-facing names of values the consent log stores (actions, sources, statuses)."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask_babel import lazy_gettext as _l

from zgoda.i18n import current_locale

ACTIONS = {
    "accept_all": _l("Accepted all"),
    "reject_all": _l("Rejected all"),
    "custom": _l("Chose per purpose"),
    "withdraw": _l("Withdrew consent"),
}

SOURCES = {
    "banner": _l("the banner on the website"),
    "preferences_page": _l("the cookie policy page"),
    "api": _l("the consent API"),
}

STATUSES = {
    "active": _l("In force: you agreed to at least one optional purpose."),
    "refused": _l("In force: you refused every optional purpose."),
    "withdrawn": _l("Withdrawn: no optional purpose is allowed."),
    "stale": _l("The cookie policy has changed since your last choice; please review it."),
    "expired": _l("Expired: you will be asked again; until then no optional purpose is allowed."),
}


# A purpose's state in a recorded choice (zgoda.consent.services.PurposeChoice).
PURPOSE_CHOICES = {
    "on": _l("Allowed"),
    "partly": _l("Partly allowed (some of its services)"),
    "off": _l("Not allowed"),
}


def purpose_choice_label(choice: str) -> str:
    """'Partly allowed (some of its services)' for partly; an unknown value as given."""
    return str(PURPOSE_CHOICES.get(choice, choice))


def action_label(action: str) -> str:
    """'Accepted all' for accept_all; an unknown action as stored."""
    return str(ACTIONS.get(action, action))


def source_label(source: str) -> str:
    """Where a choice was made, in words; an unknown source as stored."""
    return str(SOURCES.get(source, source))


def status_label(status: str) -> str:
    """A consent status in words."""
    return str(STATUSES.get(status, status))


def language_label(locale: str) -> str:
    """'Polish' or 'polski' for pl, in the page's language; an unknown code as stored."""
    try:
        name = Locale.parse(locale).get_display_name(current_locale())
    except (ValueError, TypeError, UnknownLocaleError):
        return locale
    return name[:1].upper() + name[1:] if name else locale
