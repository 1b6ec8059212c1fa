"""A visitor's own consent record: /<site>/consent/<consent id> and its JSON receipt.

Only the holder of a token the site signed for that consent id sees it; anything else
is the ordinary 404 page, the same as for an id that does not exist. The token comes
from, in this order:

- the `zgoda_consent_<site>` cookie the no-JavaScript form sets on Zgoda's domain;
- a `zgoda_receipt` cookie scoped to the receipt's path, which Zgoda sets when a
  customer site's page hands the token over, by POSTing a `token` form field
  (preferred: the token stays out of URLs) or by linking with `?token=`. Either way
  the answer is a redirect to the bare URL, so the token does not stay in the
  address bar, the history or a Referer; the cookie ends with the browser session;
- for receipt.json only, `?token=` itself (a download made by a script).

An expired token, or one given for an older notice, still shows the history: the
signature proves it was issued for that consent id, and the visitor keeps the right
to see what was recorded about them (GDPR Art. 15).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from babel.dates import format_datetime
from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from zgoda.consent import proven_consent_id, purpose_choice, recorded_consent, rules_for
from zgoda.consent.services import allowed_services
from zgoda.consent.tokens import MAX_TOKEN_LENGTH
from zgoda.errors import UnprovenConsent
from zgoda.i18n import current_locale
from zgoda.notices.loader import LoadedNotice
from zgoda.notices.registry import notice_registry
from zgoda.receipts import consent_receipt, consent_status
from zgoda.store.db import engine
from zgoda.store.log import LoggedEvent, history_for
from zgoda.web.labels import action_label, purpose_choice_label, source_label, status_label
from zgoda.web.preferences import cookie_name
from zgoda.web.tokens_ext import consent_tokens
from zgoda.web.urls import public_url_for

bp = Blueprint("receipts", __name__)

RECEIPT_COOKIE = "zgoda_receipt"
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


@bp.get("/<site>/consent/<consent_id>")
def show(site: str, consent_id: str) -> Response:
    """The consent's current choices and history, with the form to change or withdraw it."""
    loaded = notice_registry().get_or_404(site)
    handed_over = request.args.get("token")
    if handed_over is not None:
        return _keep_token(loaded, consent_id, handed_over)
    token = _authorised_token(loaded, consent_id, _stored_tokens(loaded))
    history = _history_or_404(loaded, consent_id)
    latest = history[-1]
    status = consent_status(loaded, latest)
    consent = recorded_consent(latest.event, rules_for(loaded))
    page = render_template(
        "receipt.html",
        loaded=loaded,
        notice=loaded.notice,
        history=list(reversed(history)),
        latest=latest.event,
        status=status,
        consent=consent,
        receipt_token=token,
        saved=request.args.get("saved") == "1",
        changed=request.args.get("changed") == "1",
    )
    return Response(page, mimetype="text/html", headers=PRIVATE_HEADERS)


@bp.post("/<site>/consent/<consent_id>")
def open_with_token(site: str, consent_id: str) -> Response:
    """Take the token a customer site's page posts and show the receipt page (no CSRF token:
    this only opens the record that the posted token itself proves access to)."""
    loaded = notice_registry().get_or_404(site)
    return _keep_token(loaded, consent_id, request.form.get("token", ""))


@bp.get("/<site>/consent/<consent_id>/receipt.json")
def receipt_json(site: str, consent_id: str) -> Response:
    """The consent receipt (Kantara Consent Receipt v1.1 fields) as a JSON download."""
    loaded = notice_registry().get_or_404(site)
    tokens = [request.args.get("token", ""), *_stored_tokens(loaded)]
    _authorised_token(loaded, consent_id, tokens)
    history = _history_or_404(loaded, consent_id)
    language = history[-1].event.locale
    policy_url = public_url_for("pages.privacy", site=site, lang=language)
    receipt = consent_receipt(loaded, history, policy_url)
    body = json.dumps(receipt, ensure_ascii=False, indent=2) + "\n"
    filename = f"consent-receipt-{site}-{consent_id}.json"
    headers = PRIVATE_HEADERS | {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, mimetype="application/json", headers=headers)


@bp.app_template_filter("moment")
def format_moment(moment: datetime) -> str:
    """A stored UTC time, spelled out in the page's language, with 'UTC'."""
    return format_datetime(moment, "medium", tzinfo=UTC, locale=current_locale()) + " UTC"


@bp.app_context_processor
def receipt_labels() -> dict[str, object]:
    """The names templates use for logged actions, sources, statuses and purpose choices."""
    return {
        "action_label": action_label,
        "source_label": source_label,
        "status_label": status_label,
        "purpose_choice": purpose_choice,
        "allowed_services": allowed_services,
        "purpose_choice_label": purpose_choice_label,
    }


def _keep_token(loaded: LoadedNotice, consent_id: str, token: str) -> Response:
    """Check a handed-over token, keep it in the receipt's cookie, and go to the bare URL."""
    _authorised_token(loaded, consent_id, [token])
    location = url_for(".show", site=loaded.site_id, consent_id=consent_id)
    lang = request.args.get("lang")
    response = redirect(
        url_for(".show", site=loaded.site_id, consent_id=consent_id, lang=lang), 303
    )
    response.headers.update(PRIVATE_HEADERS)
    response.set_cookie(
        RECEIPT_COOKIE,
        token,
        path=location,
        samesite="Lax",
        secure=request.is_secure,
        httponly=True,
    )
    return response


def _stored_tokens(loaded: LoadedNotice) -> Iterator[str]:
    for name in (cookie_name(loaded.site_id), RECEIPT_COOKIE):
        token = request.cookies.get(name)
        if token:
            yield token


def _authorised_token(loaded: LoadedNotice, consent_id: str, tokens: Iterable[str]) -> str:
    """The first token the site signed for `consent_id` (expired ones too), or a 404."""
    for token in tokens:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            continue
        try:
            if proven_consent_id(consent_tokens(), rules_for(loaded), token) == consent_id:
                return token
        except UnprovenConsent:
            continue
    abort(404)


def _history_or_404(loaded: LoadedNotice, consent_id: str) -> list[LoggedEvent]:
    history = history_for(engine(), loaded.site_id, consent_id)
    if not history:
        abort(404)
    return history
