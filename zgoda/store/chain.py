"""The consent log's hash chain: what each record's hash covers, spelled exactly.

Each record's hash covers its content and the previous record's hash of the same site,
so editing, deleting, inserting or reordering records breaks the chain at that point.
The visitor-identifying parts are hashed separately (`personal_hash`): erasing them on
request (GDPR Art. 17) keeps that hash as a tombstone, and the chain still verifies.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any, Generic, NamedTuple, TypeVar

GENESIS = "0" * 64
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# A time already spelled canonically (checked further by datetime.fromisoformat); the
# year starts with 1-9 because strftime does not pad years before 1000 to four digits.
CANONICAL_TIME = re.compile(
    r"[1-9][0-9]{3}-[01][0-9]-[0-3][0-9]T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z",
    re.ASCII,
)
# Every hash covers JSON text exactly as json.dumps(sort_keys=True, ensure_ascii=False,
# separators=(",", ":")) spells it. The encoder is built once; `encode_basestring` is the
# string encoder it uses (a quoted, escaped JSON string), for the hand-spelled fast paths.
_canonical_json = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
_json_string = encode_basestring
_sha256 = hashlib.sha256
Choices = TypeVar("Choices")  # what a reader makes of a record's stored choices
# Canonical choices by their items; only exact str -> bool items are kept (see canonical_choices).
_CHOICES_CACHE: dict[tuple[tuple[Any, Any], ...], str] = {}
CHOICES_CACHE_SIZE = 4096


def canonical_time(value: datetime | str) -> str:
    """UTC, microseconds, 'Z': the one spelling of a time that hashes are computed over."""
    if isinstance(value, str):
        if CANONICAL_TIME.fullmatch(value) is not None:
            datetime.fromisoformat(value)  # a real date: the same ValueError as below if not
            return value  # parsing and formatting it again would give the same text
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        moment = value
    zone = moment.tzinfo
    if zone is None:
        moment = moment.replace(tzinfo=UTC)
    elif zone is not UTC:
        moment = moment.astimezone(UTC)
    if type(moment) is datetime and moment.year >= 1000:
        # isoformat is several times faster than strftime and spells the same digits.
        return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # "+00:00" -> "Z"
    return moment.strftime(TIME_FORMAT)


def canonical_choices(choices: Mapping[Any, Any]) -> str:
    """The JSON text a record's hash covers for its choices: sorted, every value a bool."""
    try:
        key = tuple(choices.items())
        return _CHOICES_CACHE[key]
    except (KeyError, TypeError, AttributeError):  # not seen yet, unhashable, or pairs
        pass
    items = dict(choices).items()  # pairs as dict() takes them; anything else fails here
    text = _canonical_json({str(k): bool(v) for k, v in items})
    # Cached only when every key is a str and every value a bool: an equal key then has
    # str keys too, and values equal to those bools, so it spells the same text.
    if len(_CHOICES_CACHE) < CHOICES_CACHE_SIZE and all(
        type(k) is str and type(v) is bool for k, v in items
    ):
        try:
            _CHOICES_CACHE[tuple(items)] = text
        except TypeError:
            pass
    return text


def personal_text(consent_id: Any, user_agent_family: Any, ip_prefix: Any) -> str:
    """The JSON text `personal_hash` covers."""
    if (
        type(consent_id) is str
        and type(user_agent_family) is str
        and (ip_prefix is None or type(ip_prefix) is str)
    ):
        network = "null" if ip_prefix is None else _json_string(ip_prefix)
        return (
            f'{{"consent_id":{_json_string(consent_id)},"ip_prefix":{network},'
            f'"user_agent_family":{_json_string(user_agent_family)}}}'
        )
    values = {
        "consent_id": consent_id,
        "ip_prefix": ip_prefix,
        "user_agent_family": user_agent_family,
    }
    return _canonical_json(values)


def personal_hash(record: Mapping[str, Any]) -> str:
    """The hash of the parts that identify a visitor (kept as a tombstone after erasure)."""
    text = personal_text(record["consent_id"], record["user_agent_family"], record["ip_prefix"])
    return _sha256(text.encode("utf-8")).hexdigest()


def link_text(
    prev_hash: Any,
    site_id: Any,
    sequence: int,
    recorded_at: str,
    notice_version: Any,
    content_hash: Any,
    locale: Any,
    action: Any,
    choices: str,
    source: Any,
    gpc: Any,
    expires_at: str,
    chosen_at: str | None,
    personal: Any,
    *,
    spell: Callable[[Any], str] = _json_string,
) -> str:
    """The JSON text `link_hash` covers, from canonical parts.

    `sequence` is an int, the times come from `canonical_time`, `choices` from
    `canonical_choices`, `gpc` is read as a flag. The other values are strings in every
    record Zgoda writes, and `spell` (encode_basestring) takes only a str; on a value of
    another type (a tampered export's number or null) the text is spelled again with the
    canonical encoder, as `_canonical_json` would spell it, and its hash does not match.
    `chosen_at` (the time of choice, since migration 0004) is covered when a record has
    one; a record without it is spelled exactly as records were before, so old chains verify.
    """
    q = spell
    # Always a canonical time here, or None; spelled unquoted like the other times.
    chosen = "" if chosen_at is None else f'"chosen_at":"{chosen_at}",'
    try:
        # [prev_hash, content, personal_hash], the content's keys sorted.
        return (
            f'[{q(prev_hash)},{{"action":{q(action)},"choices":{choices},{chosen}'
            f'"content_hash":{q(content_hash)},"expires_at":"{expires_at}",'
            f'"gpc":{"true" if gpc else "false"},"locale":{q(locale)},'
            f'"notice_version":{q(notice_version)},"recorded_at":"{recorded_at}",'
            f'"sequence":{sequence},"site_id":{q(site_id)},"source":{q(source)}}},{q(personal)}]'
        )
    except TypeError:
        if spell is _canonical_json:
            raise  # a value not even JSON can spell
        return link_text(
            prev_hash, site_id, sequence, recorded_at, notice_version, content_hash, locale,
            action, choices, source, gpc, expires_at, chosen_at, personal, spell=_canonical_json,
        )  # fmt: skip


def link_hash(prev_hash: str, record: Mapping[str, Any]) -> str:
    """A record's hash: its content, its personal hash and the previous record's hash."""
    text = link_text(
        prev_hash,
        record["site_id"],
        int(record["sequence"]),
        canonical_time(record["recorded_at"]),
        record["notice_version"],
        record["content_hash"],
        record["locale"],
        record["action"],
        canonical_choices(record["choices"]),
        record["source"],
        bool(record["gpc"]),
        canonical_time(record["expires_at"]),
        None if (chosen := record.get("chosen_at")) is None else canonical_time(chosen),
        record["personal_hash"],
    )
    return _sha256(text.encode("utf-8")).hexdigest()


class RecordParts(NamedTuple, Generic[Choices]):
    """A stored record as the parts its chain check and its export need: one layout, its
    fields in the order the fast readers select them.

    `parts.record_parts` (the database) and `ExportReader.parts` (an export file) make one
    per record instead of a dict: `sequence` an int, the times canonical (an export file's
    as written, for `verify_parts(spell_times=True)`), `choices` what the reader made of
    the stored choices (`canonical_choices` text for a chain check), `gpc` and `erased`
    read as flags. The types are an intact record's; a tampered export may hold any JSON
    value instead.
    """

    sequence: int
    site_id: str
    recorded_at: str
    notice_version: str
    content_hash: str
    locale: str
    action: str
    choices: Choices
    source: str
    gpc: int  # a flag: a bool, or 0 or 1 as SQLite stores it
    expires_at: str
    chosen_at: str | None  # canonical like the other times; None in records before 0004
    consent_id: str
    user_agent_family: str
    ip_prefix: str | None
    erased: int  # likewise
    personal_hash: str
    prev_hash: str
    record_hash: str


# The field names in order, for code that finds a part by its name.
PARTS: tuple[str, ...] = RecordParts._fields
