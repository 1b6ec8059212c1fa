"""The per-site embed: the script with one site's banner configuration built in.

`/embed/<site>.js` is the embed (the same bundle as /embed.js) with the site's banner
configuration in both languages in place of its SITE placeholder, so a first visit makes
no request before the banner beyond the script itself. Like /embed.js it is cached for
minutes, so a new notice version or release reaches visitors within STABLE_MAX_AGE;
`/embed/<site>.<hash>.js` is one exact version, cached for a year, for Subresource
Integrity. Each script is built on first request and kept until its inputs change.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from collections.abc import Mapping

from flask import Blueprint, Response, abort, current_app

from zgoda.banner import BannerConfig
from zgoda.notices.loader import LoadedNotice
from zgoda.notices.model import LOCALES
from zgoda.notices.registry import notice_registry
from zgoda.web.api import banner_document, site_banner
from zgoda.web.embed import (
    PINNED_MAX_AGE,
    STABLE_MAX_AGE,
    EmbedBundle,
    embed_bundle,
    serve,
)

SITE_PLACEHOLDER = b'"__ZGODA_SITE__"'

bp = Blueprint("site_embed", __name__)


@bp.get("/embed/<name>.js")
def script(name: str) -> Response:
    """`SITE.js`: the current script, cached briefly; `SITE.HASH.js`: one version, for a year."""
    site, _, digest = name.partition(".")
    bundle = site_bundle(notice_registry().get_or_404(site))
    if not digest:
        return serve(bundle, STABLE_MAX_AGE, immutable=False)
    if digest != bundle.digest:
        abort(404)
    return serve(bundle, PINNED_MAX_AGE, immutable=True)


def site_bundle(loaded: LoadedNotice) -> EmbedBundle:
    """The embed with `loaded`'s banners built in; made once per notice, release and address."""
    generic = embed_bundle()
    banners: dict[str, BannerConfig] = {locale: site_banner(loaded, locale) for locale in LOCALES}
    key = (
        loaded.site_id,
        tuple(banner.content_hash for banner in banners.values()),
        generic.digest,
        current_app.config["PUBLIC_URL"],
    )
    cache: dict[tuple[object, ...], EmbedBundle] = current_app.extensions.setdefault(
        "zgoda_site_embeds", {}
    )
    bundle = cache.get(key)
    if bundle is None:
        bundle = build_site_bundle(generic, loaded, banners)
        # Only the current version of each site is kept: an older key can never be asked again.
        for stale in [k for k in cache if k[0] == loaded.site_id]:
            del cache[stale]
        cache[key] = bundle
    return bundle


def build_site_bundle(
    generic: EmbedBundle, loaded: LoadedNotice, banners: Mapping[str, BannerConfig]
) -> EmbedBundle:
    """The generic bundle's source with the site object (`site`, `locale`, `banners`) spliced in."""
    documents = [
        b'"%s":%s' % (locale.encode(), banner_document(loaded, banner).body)
        for locale, banner in banners.items()
    ]
    site = current_app.json.dumps(loaded.site_id).encode()
    locale = current_app.json.dumps(loaded.notice.default_locale).encode()
    inline = b'{"site":%s,"locale":%s,"banners":{%s}}' % (site, locale, b",".join(documents))
    if generic.source.count(SITE_PLACEHOLDER) != 1:
        raise RuntimeError(f"the embed bundle lost its {SITE_PLACEHOLDER.decode()} placeholder")
    source = generic.source.replace(SITE_PLACEHOLDER, inline, 1)
    return EmbedBundle(
        source=source,
        gzipped=gzip.compress(source, compresslevel=9, mtime=0),
        digest=hashlib.sha256(source).hexdigest()[:16],
        integrity="sha384-" + base64.b64encode(hashlib.sha384(source).digest()).decode("ascii"),
    )
