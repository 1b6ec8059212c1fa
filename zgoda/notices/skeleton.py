"""A new site's notice: a commented skeleton in which every item is still to be stated."""

from __future__ import annotations

import json
from pathlib import Path

from zgoda.errors import NoticeError
from zgoda.notices.loader import NOTICE_FILENAME, SITE_ID_PATTERN, LoadedNotice, load_notice
from zgoda.notices.model import Notice

SCHEMA_FILENAME = "notice.schema.json"

# Every Art. 13/14 item is NotStated, so the check lists each gap; the few values the model
# cannot leave unstated are TODO placeholders, which the check reports too.
SKELETON = """\
# yaml-language-server: $schema=../{schema}
# The notice of {site}. The format: notices/README.md; the editor schema:
#   flask --app app notices schema > notices/{schema}
# Review it with: flask --app app notices check {site}
# Replace each TODO, and each not_stated with what the organisation states; where its policy
# is silent, keep not_stated and say so in the note (never guess).
default_locale: pl                 # the language of the source policy: pl or en
site_name: "TODO: the brand shown on the pages"
# website: https://example.com

document:
  title:
    pl: Polityka prywatności
    en: Privacy policy
  version: &not_stated
    not_stated:
      pl: Administrator jeszcze tego nie podał.
      en: The controller has not stated this yet.
  effective_date: *not_stated      # YYYY-MM-DD, or YYYY-MM
  # source_url: https://example.com/privacy

controller:                        # Art. 13(1)(a)
  name: "TODO: the controller's full legal name"
  address:
    street: "TODO: street and number"
    postal_code: "00-000"
    city: "TODO: city"
    country: PL                    # ISO 3166-1 alpha-2
  registry_numbers: *not_stated    # a list of {{kind: KRS|NIP|REGON|VAT|registry_code|other, value}}
  contact:
    email: *not_stated             # an address for requests (Art. 12(2))
    # web_form: https://example.com/contact

dpo: *not_stated                   # Art. 13(1)(b): {{name?, contact: {{email, ...}}}}

purposes:                          # Art. 13(1)(c),(d), 13(2)(a): one entry per purpose
  - id: services
    name:
      pl: "TODO: cel przetwarzania"
      en: "TODO: the purpose of processing"
    legal_bases: *not_stated       # a list of Art. 6(1) letters: [a], [b, f], ...
    # legitimate_interest: {{pl: ..., en: ...}}   # required with f
    retention: *not_stated         # a list of {{period: {{value, unit: day|month|year}}, criterion}}

data_categories: *not_stated       # Art. 14(1)(d): a list of {{id, name}}
data_sources: *not_stated          # Art. 14(2)(f): a list of {{description, publicly_accessible}}
recipients: *not_stated            # Art. 13(1)(e): a list of {{category, role, names}}
transfers: *not_stated             # Art. 13(1)(f): {{outside_eea, destinations, safeguards}}
rights: *not_stated                # Art. 13(2)(b),(c): {{listed: [access, rectification, ...]}}
supervisory_authorities: *not_stated   # Art. 13(2)(d): PUODO for Poland
requirement: *not_stated           # Art. 13(2)(e): {{text}}
automated_decisions: *not_stated   # Art. 13(2)(f), 22: {{profiling, automated_decisions, logic}}
children: *not_stated              # Art. 8
security_measures: *not_stated     # Art. 32: a list of texts

cookies:                           # ePrivacy Art. 5(3)
  purposes:
    - id: necessary
      required: true
      name: {{pl: Niezbędne, en: Strictly necessary}}
      description:
        pl: Pliki cookie niezbędne do działania serwisu i zapamiętania Twoich wyborów.
        en: Cookies needed for the website to work and to remember your choices.
      cookies:
        - name: zgoda_consent
          provider: "TODO: the organisation"
          party: first
          duration: {{value: 6, unit: month}}
          description:
            pl: Zapamiętuje Twoje wybory dotyczące plików cookie.
            en: Remembers your cookie choices.
    # An optional purpose may list the services a visitor allows one by one (the purpose is
    # allowed only when all of them are), only where the organisation names them:
    #   services:
    #     - {{id: google_ads, name: Google Ads, provider: Google}}

# embed:
#   domains: [example.com]         # https pages on these domains and subdomains call the API
"""


def write_skeleton(notices_dir: Path, site_id: str) -> LoadedNotice:
    """Write `notices_dir/site_id/notice.yaml` as a skeleton, and load it back."""
    if not SITE_ID_PATTERN.fullmatch(site_id):
        raise NoticeError(notices_dir / site_id, f"site id {site_id!r} must match [a-z0-9-]+")
    site_dir = notices_dir / site_id
    if site_dir.exists():
        raise NoticeError(site_dir, f"site {site_id!r} already exists; edit its {NOTICE_FILENAME}")
    site_dir.mkdir(parents=True)
    path = site_dir / NOTICE_FILENAME
    path.write_text(SKELETON.format(site=site_id, schema=SCHEMA_FILENAME), encoding="utf-8")
    return load_notice(site_dir)


def notice_schema() -> str:
    """The JSON Schema of notice.yaml, for an editor's completion and validation."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **Notice.model_json_schema(),
    }
    return json.dumps(schema, ensure_ascii=False, indent=2)
