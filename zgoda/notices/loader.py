"""Load and validate `notices/<site>/notice.yaml`, once, at start-up."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from zgoda.errors import NoticeError
from zgoda.notices.model import Notice

SITE_ID_PATTERN = re.compile(r"^[a-z0-9-]+$")
NOTICE_FILENAME = "notice.yaml"


# libyaml's parser when PyYAML was built with it: it parses notices about 10x faster.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NoticeYamlLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A safe loader that keeps dates as text and refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


# Dates stay strings: the model validates them, and a version like 2024-09-09 is text.
_NoticeYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class LoadedNotice:
    """A validated notice with its site id, file and content version."""

    site_id: str
    path: Path
    notice: Notice
    version: str


def content_version(notice: Notice) -> str:
    """A short hash of the notice's content; it changes whenever any statement changes."""
    return content_hash(notice.model_dump(mode="json"))


def content_hash(data: Any) -> str:
    """sha256 over canonical JSON, shortened to 16 hex digits."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def load_notice(site_dir: Path) -> LoadedNotice:
    """Load and validate one site folder; raise NoticeError naming file, line and field."""
    site_id = site_dir.name
    path = site_dir / NOTICE_FILENAME
    if not SITE_ID_PATTERN.fullmatch(site_id):
        raise NoticeError(site_dir, f"site id {site_id!r} must match [a-z0-9-]+", "site id")
    if not path.is_file():
        raise NoticeError(path, f"missing {NOTICE_FILENAME}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise NoticeError(path, f"cannot be read: {error}") from error
    key = (site_id, str(path), text)
    loaded = _LOADED.get(key)
    if loaded is None:
        if len(_LOADED) >= MAX_KEPT_NOTICES:
            _LOADED.clear()
        loaded = _LOADED[key] = _validated(site_id, path, text)
    return loaded


# Every app made in this process (tests make hundreds) parses a file's text once: the same
# text gives the same frozen notice. Keyed by content, so an edited file is read afresh.
MAX_KEPT_NOTICES = 64
_LOADED: dict[tuple[str, str, str], LoadedNotice] = {}


def _validated(site_id: str, path: Path, text: str) -> LoadedNotice:
    try:
        root, raw = _parse_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or str(error)
        raise NoticeError(path, f"invalid YAML: {problem}", line=line) from error
    if not isinstance(raw, Mapping):
        raise NoticeError(path, "the file must hold a mapping of notice fields", line=1)
    try:
        notice = Notice.model_validate(raw)
    except ValidationError as error:
        raise _notice_error(path, root, error) from error
    return LoadedNotice(site_id=site_id, path=path, notice=notice, version=content_version(notice))


def _parse_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the data built from it, in one parse."""
    loader = _NoticeYamlLoader(text)
    try:
        root = loader.get_single_node()
        return root, loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()


def load_notices(notices_dir: Path) -> dict[str, LoadedNotice]:
    """Load every site folder under `notices_dir`, sorted by site id."""
    if not notices_dir.is_dir():
        raise NoticeError(notices_dir, "notices folder does not exist")
    site_dirs = sorted(
        child
        for child in notices_dir.iterdir()
        if child.is_dir() and not child.name.startswith(".")
    )
    return {loaded.site_id: loaded for loaded in map(load_notice, site_dirs)}


def _notice_error(path: Path, root: yaml.Node | None, error: ValidationError) -> NoticeError:
    # With unions (`list[X] | NotStated`) pydantic reports one error per branch;
    # the deepest location is the one that points at what the author got wrong.
    details = max(error.errors(), key=lambda detail: len(_data_path(root, detail["loc"])[0]))
    keys, line = _data_path(root, details["loc"])
    field = ".".join(str(key) for key in keys)
    message = details["msg"]
    if details["type"] == "extra_forbidden":
        message = "unknown field"
    elif details["type"] == "missing":
        message = "required field is missing"
    elif details["type"] == "enum":
        message = f"{details['msg']} (got {details.get('input')!r})"
    return NoticeError(path, message, field=field, line=line)


def _data_path(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[list[Any], int | None]:
    """Walk pydantic's location through the YAML nodes, returning the data keys and a line."""
    keys: list[Any] = []
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for step in loc:
        child = _child(node, step)
        if child is not None:
            keys.append(step)
            node = child
            line = node.start_mark.line + 1
        elif _is_field_name(step):
            keys.append(step)  # absent from the file: the line stays on its parent
            break
        # anything else is pydantic's tag for a union branch, not part of the data path
    return keys, line


def _is_field_name(step: Any) -> bool:
    # Field names are snake_case; union branch tags are class names or `list[...]`.
    return isinstance(step, str) and step.isidentifier() and step[:1].islower()


def _child(node: yaml.Node | None, step: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(step, str):
        for key_node, value_node in node.value:
            if key_node.value == step:
                child: yaml.Node = value_node
                return child
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        item: yaml.Node = node.value[step]
        return item
    return None
