"""Hosted pages: the list of sites, each site's privacy notice and cookie policy."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from zgoda import legal
from zgoda.notices.registry import notice_registry
from zgoda.web.preferences import current_consent

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    """The sites Zgoda hosts notices for."""
    return render_template("index.html", notices=notice_registry().notices.values())


@bp.get("/<site>/privacy")
def privacy(site: str) -> str:
    """A site's privacy notice (GDPR Art. 13/14)."""
    loaded = notice_registry().get_or_404(site)
    return render_template("privacy.html", loaded=loaded, notice=loaded.notice, legal=legal)


@bp.get("/<site>/cookies")
def cookies(site: str) -> str:
    """A site's cookie policy: consent purposes and the cookies under each."""
    loaded = notice_registry().get_or_404(site)
    return render_template(
        "cookies.html",
        loaded=loaded,
        notice=loaded.notice,
        legal=legal,
        consent=current_consent(loaded),
        saved=request.args.get("saved") == "1",
        changed=request.args.get("changed") == "1",
    )
