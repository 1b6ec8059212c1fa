"""Equivalent customer pages, one per candidate: the same article, layout and purposes.

Every page carries the same article and styles; what differs is the banner: Zgoda's tag
(from Zgoda's origin) or a peer's files (self-hosted on the customer origin, as those
libraries are deployed), each configured from Zgoda's own banner configuration (its Polish
texts and optional purposes), so that the banners say the same thing. Each page gates one
analytics script ("statistics") that sets `window.__gatedAt` when it runs.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any

# The gated analytics tag: when it runs, by the page's clock.
GATED_CODE = "window.__gatedAt = performance.now();"
GATED_PURPOSE = "statistics"

ARTICLE_TITLE = "Jak wybrać rower na dojazdy do pracy"
ARTICLE = (
    "Rower miejski to najprostszy sposób, by ominąć korki i zacząć dzień w ruchu. Zanim "
    "wybierzesz model, zastanów się, jak długa jest Twoja trasa, czy prowadzi przez wzniesienia "
    "i gdzie rower będzie stał w ciągu dnia.",
    "Na krótkich, płaskich odcinkach sprawdzi się lekki rower z jedną przerzutką w piaście: "
    "wymaga niewiele obsługi i nie boi się deszczu. Dłuższe trasy z podjazdami lepiej pokonywać "
    "na rowerze z kilkoma biegami, a jeśli chcesz dojechać bez zmęczenia, rozważ wspomaganie "
    "elektryczne.",
    "Nie oszczędzaj na oświetleniu i błotnikach. Dobre światła z przodu i z tyłu są wymagane "
    "przepisami, a błotniki chronią ubranie przed wodą z kałuż. Bagażnik z sakwami odciąży "
    "plecy i pozwoli zabrać laptopa albo zakupy.",
    "Zadbaj też o zabezpieczenie. Solidne zapięcie typu U-lock kosztuje niewiele w porównaniu "
    "z ceną roweru, a przypięcie ramy do stałego stojaka skutecznie zniechęca złodziei. Warto "
    "zapisać numer ramy i zrobić zdjęcie roweru.",
    "Raz w miesiącu sprawdź ciśnienie w oponach, nasmaruj łańcuch i skontroluj hamulce. Kilka "
    "minut przeglądu wystarczy, by rower służył latami i nie zawiódł w drodze do pracy.",
)
STYLE = (
    "body{margin:0;font:18px/1.6 Georgia,serif;color:#222;background:#fafafa}"
    "header{background:#234;color:#fff;padding:1rem 2rem}header a{color:#fff}"
    "main{max-width:40rem;margin:0 auto;padding:1rem 2rem 4rem}h1{font-size:2rem;line-height:1.2}"
)


@dataclass(frozen=True)
class Candidate:
    """A banner under test: how its page is built and how the probe finds and clicks it."""

    name: str
    # A JS expression for the banner element (null when absent), evaluated every frame.
    banner: str
    # A Playwright selector for the banner's "Accept all" button.
    accept: str


ZGODA_BANNER = (
    "(document.querySelector('zgoda-consent') && document.querySelector('zgoda-consent')"
    ".shadowRoot && document.querySelector('zgoda-consent').shadowRoot.querySelector('.banner'))"
)
CANDIDATES = {
    "zgoda-embed": Candidate(
        "zgoda /embed.js + config", ZGODA_BANNER, "zgoda-consent .banner .actions button >> nth=0"
    ),
    "zgoda-site": Candidate(
        "zgoda per-site script", ZGODA_BANNER, "zgoda-consent .banner .actions button >> nth=0"
    ),
    "cookieconsent": Candidate(
        "vanilla-cookieconsent 3.1.0",
        "document.querySelector('#cc-main .cm')",
        "#cc-main .cm button[data-role=all]",
    ),
    "klaro": Candidate(
        "Klaro 0.7.22", "document.querySelector('#klaro .cookie-notice')", "#klaro .cm-btn-success"
    ),
    "tarteaucitron": Candidate(
        "tarteaucitron 1.34.0",
        "document.getElementById('tarteaucitronAlertBig')",
        "#tarteaucitronPersonalize2",
    ),
}


def optional_purposes(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The purposes a visitor is asked about (Zgoda's optional ones), in the notice's order."""
    return [p for p in config["purposes"] if not p["required"]]


def js(value: Any) -> str:
    """A value as a JavaScript literal that is safe inside an inline <script>."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def page(key: str, config: dict[str, Any], zgoda: str) -> str:
    """The customer page for candidate `key`, its banner built from Zgoda's `config`."""
    head, tail = BUILDERS[key](config, zgoda)
    body = "".join(f"<p>{html.escape(p)}</p>" for p in ARTICLE)
    return (
        '<!DOCTYPE html><html lang="pl"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(ARTICLE_TITLE)}</title><style>{STYLE}</style>{head}</head>"
        '<body><header><a href="/">Blog rowerowy</a></header>'
        f"<main><h1>{html.escape(ARTICLE_TITLE)}</h1>{body}</main>{tail}</body></html>"
    )


def zgoda_embed(config: dict[str, Any], zgoda: str) -> tuple[str, str]:
    """Today's tag: the generic script, which then fetches the site's banner configuration."""
    gated = f'<script type="text/plain" data-zgoda-purpose="{GATED_PURPOSE}">{GATED_CODE}</script>'
    return f'<script src="{zgoda}/embed.js" data-site="optingo" async></script>', gated


def zgoda_site(config: dict[str, Any], zgoda: str) -> tuple[str, str]:
    """The per-site script: the configuration built in, nothing fetched before the banner."""
    gated = f'<script type="text/plain" data-zgoda-purpose="{GATED_PURPOSE}">{GATED_CODE}</script>'
    return f'<script src="{zgoda}/embed/optingo.js" async></script>', gated


def cookieconsent(config: dict[str, Any], zgoda: str) -> tuple[str, str]:
    """vanilla-cookieconsent 3: its CSS in the head, the UMD build and its run() at the end."""
    t = config["texts"]
    categories: dict[str, Any] = {"necessary": {"enabled": True, "readOnly": True}}
    sections = []
    for p in config["purposes"]:
        if not p["required"]:
            categories[p["id"]] = {}
        sections.append(
            {"title": p["name"], "description": p["description"], "linkedCategory": p["id"]}
        )
    options = {
        # Its default hides the banner from automated browsers (navigator.webdriver).
        "hideFromBots": False,
        "guiOptions": {"consentModal": {"layout": "bar", "position": "bottom"}},
        "categories": categories,
        "language": {
            "default": "pl",
            "translations": {
                "pl": {
                    "consentModal": {
                        "title": t["title"],
                        "description": t["body"],
                        "acceptAllBtn": t["accept_all"],
                        "acceptNecessaryBtn": t["reject_all"],
                        "showPreferencesBtn": t["settings"],
                    },
                    "preferencesModal": {
                        "title": t["preferences_title"],
                        "acceptAllBtn": t["accept_all"],
                        "acceptNecessaryBtn": t["reject_all"],
                        "savePreferencesBtn": t["save"],
                        "closeIconLabel": t["close"],
                        "sections": sections,
                    },
                }
            },
        },
    }
    head = '<link rel="stylesheet" href="/peers/vanilla-cookieconsent/dist/cookieconsent.css">'
    tail = (
        f'<script type="text/plain" data-category="{GATED_PURPOSE}">{GATED_CODE}</script>'
        '<script src="/peers/vanilla-cookieconsent/dist/cookieconsent.umd.js"></script>'
        f"<script>CookieConsent.run({js(options)});</script>"
    )
    return head, tail


def klaro(config: dict[str, Any], zgoda: str) -> tuple[str, str]:
    """Klaro: its configuration inline, then the standard build (CSS included), deferred."""
    t = config["texts"]
    optional = optional_purposes(config)
    translations: dict[str, Any] = {
        "consentNotice": {
            "title": t["title"],
            "description": t["body"],
            "learnMore": t["settings"],
        },
        "consentModal": {"title": t["preferences_title"], "description": ""},
        "ok": t["accept_all"],
        "acceptAll": t["accept_all"],
        "decline": t["reject_all"],
        "save": t["save"],
        "close": t["close"],
        "privacyPolicyUrl": config["links"]["privacy"],
        "purposes": {p["id"]: p["name"] for p in optional},
    }
    for p in optional:
        translations[p["id"]] = {"title": p["name"], "description": p["description"]}
    options = {
        "lang": "pl",
        "showNoticeTitle": True,
        "acceptAll": True,
        "hideDeclineAll": False,
        "translations": {"pl": translations},
        "services": [{"name": p["id"], "purposes": [p["id"]]} for p in optional],
    }
    head = (
        f"<script>var klaroConfig = {js(options)};</script>"
        '<script defer src="/peers/klaro/dist/klaro.js"></script>'
    )
    tail = (
        f'<script type="text/plain" data-type="application/javascript" '
        f'data-name="{GATED_PURPOSE}">{GATED_CODE}</script>'
    )
    return head, tail


def tarteaucitron(config: dict[str, Any], zgoda: str) -> tuple[str, str]:
    """tarteaucitron: its script and init() in the head, one custom service per purpose."""
    t = config["texts"]
    text = {
        "alertBigPrivacy": t["body"],
        "acceptAll": t["accept_all"],
        "denyAll": t["reject_all"],
        "personalize": t["settings"],
        "title": t["preferences_title"],
        "close": t["close"],
    }
    services = []
    for p in optional_purposes(config):
        code = GATED_CODE if p["id"] == GATED_PURPOSE else ""
        services.append(
            f"tarteaucitron.services[{js(p['id'])}] = {{key: {js(p['id'])}, type: 'other', "
            f"name: {js(p['name'])}, needConsent: true, cookies: [], uri: '', "
            f"js: function () {{ {code} }}, fallback: function () {{}} }};"
            f"(tarteaucitron.job = tarteaucitron.job || []).push({js(p['id'])});"
        )
    head = (
        f"<script>var tarteaucitronForceLanguage = 'pl', tarteaucitronCustomText = {js(text)};"
        "</script>"
        '<script src="/peers/tarteaucitronjs/tarteaucitron.min.js"></script>'
        "<script>tarteaucitron.init({privacyUrl: "
        f"{js(config['links']['privacy'])}, orientation: 'bottom', DenyAllCta: true, "
        "AcceptAllCta: true, highPrivacy: true, adblocker: false, showAlertSmall: false, "
        "cookieslist: false, mandatory: true, useExternalCss: false, useExternalJs: false});"
        f"{''.join(services)}</script>"
    )
    return head, ""


BUILDERS = {
    "zgoda-embed": zgoda_embed,
    "zgoda-site": zgoda_site,
    "cookieconsent": cookieconsent,
    "klaro": klaro,
    "tarteaucitron": tarteaucitron,
}
