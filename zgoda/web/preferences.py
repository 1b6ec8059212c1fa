"""Consent without JavaScript: a plain form on the hosted cookie policy.

The choice is recorded like the banner's, and its signed token is kept in a
cookie on Zgoda's own domain, one per site, so the page can show the current state.
The same form on a consent's receipt page (zgoda.web.receipts) carries that consent's
token, so a change or withdrawal there continues the same consent id.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, current_app, redirect, request, url_for
from pydantic import ValidationError
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from zgoda.consent import (
    Action,
    Consent,
    ConsentRequest,
    ConsentRules,
    ProvenConsentId,
    Source,
    build_event,
    proven_consent_id,
    read_consent,
    rules_for,
    token_payload,
)
from zgoda.errors import StaleNotice, UnprovenConsent
from zgoda.i18n import current_locale
from zgoda.notices.loader import LoadedNotice
from zgoda.notices.registry import notice_registry
from zgoda.store.db import engine
from zgoda.store.group_commit import group_commit
from zgoda.web.api import site_banner
from zgoda.web.client import client_facts
from zgoda.web.limits import limited
from zgoda.web.tokens_ext import consent_tokens

bp = Blueprint("preferences", __name__)

FORM_ACTIONS = {action.value: action for action in Action}


def form_choices(rules: ConsentRules, form: Mapping[str, str]) -> dict[str, bool]:
    """The form's checkboxes as choices: a `purpose-<id>` per purpose, and for a purpose with
    services a `service-<purpose>.<service>` per service instead (the purpose follows from
    them, so the form needs no JavaScript); an unticked box is not sent, so it is a refusal.
    A ticked `purpose-<id>` of a purpose with services (a page's own form) allows them all."""
    choices: dict[str, bool] = {}
    for purpose_id in rules.optional:
        keys = rules.services.get(purpose_id)
        if keys and form.get(f"purpose-{purpose_id}") == "on":
            choices[purpose_id] = True
        elif keys:
            choices |= {key: form.get(f"service-{key}") == "on" for key in keys}
        else:
            choices[purpose_id] = form.get(f"purpose-{purpose_id}") == "on"
    return choices


def cookie_name(site_id: str) -> str:
    """The consent cookie of one site on Zgoda's own domain."""
    return f"{current_app.config['CONSENT_COOKIE']}_{site_id}"


def current_consent(loaded: LoadedNotice) -> Consent:
    """What this browser chose for the site, from its cookie on Zgoda's domain."""
    token = request.cookies.get(cookie_name(loaded.site_id))
    return read_consent(consent_tokens(), rules_for(loaded), token)


@bp.post("/<site>/cookies/preferences")
@limited
def save(site: str) -> Response:
    """Record the form's choice, keep its token in a cookie, and go back to the page.

    With a `token` field (the form on a receipt page) the choice continues that
    token's consent id and the answer goes back to its receipt page.
    """
    loaded = notice_registry().get_or_404(site)
    action = FORM_ACTIONS.get(request.form.get("action", ""))
    if action is None:
        raise BadRequest("the form's action must be accept_all, reject_all, custom or withdraw")
    rules = rules_for(loaded)
    receipt_token = request.form.get("token")
    previous_id: ProvenConsentId | None = None
    if receipt_token is not None:
        try:
            previous_id = proven_consent_id(consent_tokens(), rules, receipt_token)
        except UnprovenConsent as error:
            raise BadRequest("the form was not filled in as the page sent it") from error
    else:
        # The cookie continues its consent id (expired too); an untrusted one starts anew.
        cookie = request.cookies.get(cookie_name(site))
        if cookie:
            try:
                previous_id = proven_consent_id(consent_tokens(), rules, cookie)
            except UnprovenConsent:
                previous_id = None
    locale = current_locale()

    def back(consent_id: str | None, flag: str) -> str:
        if receipt_token is not None and consent_id:
            page = url_for("receipts.show", site=site, consent_id=consent_id, lang=locale)
        else:
            page = url_for("pages.cookies", site=site, lang=locale)
        return f"{page}&{flag}=1#preferences"

    try:
        consent_request = ConsentRequest(
            action=action,
            notice_version=request.form.get("notice_version", ""),
            locale=locale,
            choices=form_choices(rules, request.form) if action is Action.CUSTOM else None,
            source=Source.PREFERENCES_PAGE,
        )
        shown = site_banner(loaded, locale).content_hash
        event = build_event(rules, consent_request, client_facts(), shown, previous_id)
    except StaleNotice:
        return redirect(back(previous_id, "changed"), 303)
    except ValidationError as error:
        raise BadRequest("the form was not filled in as the page sent it") from error
    group_commit(engine()).append(event)
    token = consent_tokens().issue(site, token_payload(event, rules))
    response = redirect(back(event.consent_id, "saved"), 303)
    response.set_cookie(
        cookie_name(site),
        token,
        expires=event.expires_at,
        samesite="Lax",
        secure=request.is_secure,
        httponly=True,
    )
    return response
