"""Consent without JavaScript: a plain form on the hosted cookie policy.

The choice is recorded like the banner's, and its signed token is kept in a
cookie on Zgoda's own domain, one per site, so the page can show the current state.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, request, url_for
from pydantic import ValidationError
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from zgoda.consent import Action, ConsentRequest, Source, build_event, lifetime, token_payload
from zgoda.errors import ExpiredToken, StaleNotice, TokenError
from zgoda.i18n import current_locale
from zgoda.notices.loader import LoadedNotice
from zgoda.notices.registry import notice_registry
from zgoda.store.db import engine
from zgoda.store.log import append_event
from zgoda.web.api import purpose_hashes, site_banner
from zgoda.web.client import client_facts
from zgoda.web.tokens_ext import consent_tokens

bp = Blueprint("preferences", __name__)

FORM_ACTIONS = {
    action.value: action for action in (Action.ACCEPT_ALL, Action.REJECT_ALL, Action.CUSTOM)
}


def cookie_name(site_id: str) -> str:
    """The consent cookie of one site on Zgoda's own domain."""
    return f"{current_app.config['CONSENT_COOKIE']}_{site_id}"


def current_consent(loaded: LoadedNotice) -> dict[str, Any] | None:
    """What this browser chose for the site, from its cookie: choices and status, or None."""
    token = request.cookies.get(cookie_name(loaded.site_id))
    if not token:
        return None
    max_age = int(lifetime(loaded.notice.embed.consent_lifetime).total_seconds())
    try:
        payload = consent_tokens().verify(loaded.site_id, token, max_age=max_age)
    except ExpiredToken:
        return {"status": "expired", "choices": {}, "consent_id": None}
    except TokenError:
        return None
    status = "valid" if payload.get("nv") == loaded.version else "stale"
    choices = {purpose: bool(granted) for purpose, granted in payload.get("ch", {}).items()}
    return {"status": status, "choices": choices, "consent_id": payload.get("cid")}


@bp.post("/<site>/cookies/preferences")
def save(site: str) -> Response:
    """Record the form's choice, keep its token in a cookie, and go back to the policy."""
    loaded = notice_registry().get_or_404(site)
    action = FORM_ACTIONS.get(request.form.get("action", ""))
    if action is None:
        raise BadRequest("the form's action must be accept_all, reject_all or custom")
    optional = [purpose.id for purpose in loaded.notice.cookies.purposes if not purpose.required]
    previous = current_consent(loaded)
    locale = current_locale()
    try:
        consent_request = ConsentRequest(
            action=action,
            notice_version=request.form.get("notice_version", ""),
            locale=locale,
            choices={p: request.form.get(f"purpose-{p}") == "on" for p in optional}
            if action is Action.CUSTOM
            else None,
            consent_id=previous["consent_id"] if previous else None,
            source=Source.PREFERENCES_PAGE,
        )
        config = site_banner(loaded, locale)
        event = build_event(loaded, consent_request, client_facts(), config.content_hash)
    except StaleNotice:
        return redirect(
            url_for("pages.cookies", site=site, lang=locale, changed=1) + "#preferences", 303
        )
    except ValidationError as error:
        raise BadRequest("the form was not filled in as the page sent it") from error
    append_event(engine(), event)
    token = consent_tokens().issue(site, token_payload(event, purpose_hashes(config)))
    response = redirect(
        url_for("pages.cookies", site=site, lang=locale, saved=1) + "#preferences", 303
    )
    response.set_cookie(
        cookie_name(site),
        token,
        expires=event.expires_at,
        samesite="Lax",
        secure=request.is_secure,
        httponly=True,
    )
    return response
