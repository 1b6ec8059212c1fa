"""A demo shop page per site that uses the embed, so a newcomer sees the banner work."""

from __future__ import annotations

from flask import Blueprint, render_template

from zgoda.notices.registry import notice_registry

bp = Blueprint("demo", __name__)


@bp.get("/demo/<site>")
def shop(site: str) -> str:
    """A website of `site` with the banner and a gated statistics and advertising tag."""
    loaded = notice_registry().get_or_404(site)
    return render_template("demo.html", loaded=loaded, notice=loaded.notice)
