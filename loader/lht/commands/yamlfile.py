"""The dbt project's YAML files, edited in place: comments, quotes and order kept (ruamel
round trip), entries added where they belong and removed cleanly.

ruamel attaches a comment that follows a list to the list's last item (to the deepest
collection at its end). A comment introducing the next key (``# The merge rules ...``
above ``unit_tests:``) would therefore stay above an entry appended to the list, and an
entry removed from its end would take the comment with it. :func:`append` and
:func:`remove` move such a trailing comment to the list's new last item, so it stays where
the file's author put it: above what follows the list. An inline comment stays on its line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

from lht.errors import ConfigError


def project_yaml() -> YAML:
    """The round-trip YAML of lht's edits: dbt's usual indentation, long lines kept whole."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def load(path: Path) -> Any:
    """The YAML document at ``path`` (ConfigError naming the file when it is not YAML)."""
    try:
        return project_yaml().load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # ruamel's parser and scanner errors share no base class
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None


def dumps(document: Any) -> str:
    """``document`` as text, as :func:`save` writes it."""
    out = StringIO()
    project_yaml().dump(document, out)
    return out.getvalue()


def save(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (a reader sees the old file or the new one)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _spine(node: Any) -> list[tuple[Any, Any]]:
    """The (collection, last key or index) pairs from ``node`` down its last items."""
    out = []
    while isinstance(node, (CommentedMap, CommentedSeq)) and len(node):
        key = next(reversed(node)) if isinstance(node, CommentedMap) else len(node) - 1
        out.append((node, key))
        node = node[key]
    return out


def _take_trailing(node: Any) -> str:
    """Remove and return the comment lines after the last item of ``node`` (inline comments stay)."""
    lines = ""
    for holder, key in _spine(node):
        end = getattr(holder.ca, "end", None)
        if end:
            lines += "".join(token.value for token in end)
            holder.ca.end = []
        item = holder.ca.items.get(key)
        position = 2 if isinstance(holder, CommentedMap) else 0
        if item and len(item) > position and item[position] is not None:
            inline, newline, rest = item[position].value.partition("\n")
            lines += rest
            item[position] = (
                CommentToken(inline + newline, item[position].start_mark, None)
                if inline.strip()
                else None
            )
    return lines


def _put_trailing(node: Any, lines: str) -> None:
    """Attach comment ``lines`` after the last item of ``node``."""
    if not lines:
        return
    block = [(holder, key) for holder, key in _spine(node) if not holder.fa.flow_style()]
    if not block:
        return
    holder, key = block[-1]
    if isinstance(holder, CommentedSeq):
        holder.ca.end = [CommentToken(lines, CommentMark(0), None)]
    else:
        item = holder.ca.items.setdefault(key, [None, None, None, None])
        item[2] = CommentToken("\n" + lines, CommentMark(0), None)


def append(entries: CommentedSeq, new: Iterable[Any]) -> None:
    """Append ``new`` to ``entries``, keeping the comment that followed the list after it."""
    new = list(new)
    if not new:
        return
    trailing = _take_trailing(entries)
    entries.extend(new)
    _put_trailing(entries, trailing)


def remove(entries: CommentedSeq, unwanted: Callable[[Any], bool]) -> list[Any]:
    """Remove the items ``unwanted`` picks and return them. The comment lines after a removed
    item move to the item before it, so a comment introducing what follows the list stays."""
    removed = []
    for index in reversed(range(len(entries))):
        if not unwanted(entries[index]):
            continue
        trailing = _take_trailing(entries[index])
        removed.append(entries[index])
        del entries[index]
        if index > 0:
            before = entries[index - 1]
            _put_trailing(before, _take_trailing(before) + trailing)
    return list(reversed(removed))


def block(mapping: dict[str, Any]) -> CommentedMap:
    """A plain dict as a block-style mapping (nested lists of scalars in flow style: ``[a, b]``)."""
    out = CommentedMap()
    for key, value in mapping.items():
        if isinstance(value, dict):
            value = block(value)
            if all(
                not isinstance(v, (dict, list, CommentedMap, CommentedSeq)) for v in value.values()
            ):
                value.fa.set_flow_style()
        elif isinstance(value, list):
            items = CommentedSeq(block(v) if isinstance(v, dict) else v for v in value)
            if all(not isinstance(v, (dict, CommentedMap)) for v in value):
                items.fa.set_flow_style()
            value = items
        out[key] = value
    return out


@dataclass
class YamlEntry:
    """A model's entry in one of the project's YAML files."""

    path: Path
    document: Any
    entry: CommentedMap


def model_entries(models_dir: Path) -> dict[str, YamlEntry]:
    """Every model entry of the YAML files in ``models_dir``, by lower-case model name."""
    found: dict[str, YamlEntry] = {}
    for path in sorted([*models_dir.glob("*.yml"), *models_dir.glob("*.yaml")]):
        document = load(path)
        if not isinstance(document, CommentedMap) or not isinstance(
            document.get("models"), CommentedSeq
        ):
            continue
        for entry in document["models"]:
            if isinstance(entry, CommentedMap) and entry.get("name"):
                found.setdefault(str(entry["name"]).lower(), YamlEntry(path, document, entry))
    return found


def changed_files(entries: Iterable[YamlEntry], before: Mapping[Path, str]) -> dict[Path, str]:
    """The new text of each file whose document differs from ``before`` (its text when read)."""
    out: dict[Path, str] = {}
    for item in entries:
        if item.path in out:
            continue
        text = dumps(item.document)
        if text != before.get(item.path):
            out[item.path] = text
    return out
