"""The rows of a merge model checked before any call, and grouped into merge requests.

A row is ``(MasterId, LoserId)``: merge the loser into the master. The whole model is
refused (:class:`~lht.errors.MergeRefusedError`, naming the rows) when an Id is malformed
(15 or 18 base-62 characters, the case-safe checksum of an 18-character Id, the key prefix
of the model's object), a record is merged into itself, a loser is listed twice, or a
record is both a master and a loser. The 15- and 18-character forms of one Id are the
same record. Valid rows are grouped by master, at most two losers per request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lht import names
from lht.errors import MergeRefusedError
from lht.names import to18
from lht.salesforce.merge_soap import MAX_LOSERS_PER_REQUEST, MergeRequest

#: Objects merge() accepts, with their Id key prefixes.
KEY_PREFIXES = {"Account": "001", "Contact": "003", "Lead": "00Q"}
#: Rows named per kind of problem in a refusal (the count says how many more).
NAMED_ROWS = 10


@dataclass(frozen=True)
class Pair:
    """One valid row: the 18-character Ids of the master and of the loser."""

    master_id: str
    loser_id: str


def id_problem(value: object, object_name: str) -> str | None:
    """Why ``value`` is not an Id of ``object_name``, or None when it is one."""
    return names.id_problem(value, KEY_PREFIXES[object_name], object_name)


def _row(master: object, loser: object) -> str:
    return f"(MasterId={master!r}, LoserId={loser!r})"


def _named(title: str, rows: Sequence[str]) -> str:
    shown = "; ".join(rows[:NAMED_ROWS])
    more = f"; and {len(rows) - NAMED_ROWS} more" if len(rows) > NAMED_ROWS else ""
    return f"{title} ({len(rows)}): {shown}{more}"


def validate_rows(
    merge_name: str, object_name: str, rows: Iterable[tuple[object, object]]
) -> list[Pair]:
    """The model's rows as pairs of 18-character Ids, or MergeRefusedError naming every bad row."""
    rows = sorted(rows, key=lambda r: (str(r[0]), str(r[1])))
    malformed: list[str] = []
    itself: list[str] = []
    entries: list[tuple[Pair, str]] = []
    for master, loser in rows:
        problems = [f"MasterId {p}" for p in [id_problem(master, object_name)] if p]
        problems += [f"LoserId {p}" for p in [id_problem(loser, object_name)] if p]
        if problems:
            malformed.append(f"{_row(master, loser)}: {', '.join(problems)}")
            continue
        pair = Pair(to18(str(master)), to18(str(loser)))
        if pair.master_id == pair.loser_id:
            itself.append(_row(master, loser))
            continue
        entries.append((pair, _row(master, loser)))
    by_loser: dict[str, list[str]] = {}
    for pair, text in entries:
        by_loser.setdefault(pair.loser_id, []).append(text)
    twice = [
        f"{loser} in {' and '.join(texts)}" for loser, texts in by_loser.items() if len(texts) > 1
    ]
    masters = {pair.master_id for pair, _ in entries}
    both = [
        f"{pair.loser_id} is the loser of {text} and a master elsewhere"
        for pair, text in entries
        if pair.loser_id in masters
    ]
    pairs = [pair for pair, _ in entries]
    problems = [
        _named(t, r)
        for t, r in (
            ("malformed Ids", malformed),
            ("records merged into themselves", itself),
            ("losers listed more than once", twice),
            ("records both master and loser", both),
        )
        if r
    ]
    if problems:
        raise MergeRefusedError(
            f"Merge model {merge_name} ({object_name}) refused, nothing was sent: "
            + " | ".join(problems)
            + ". Fix the model's rows (one row per loser, MasterId and LoserId of real "
            f"{object_name} records), `dbt build` it, then run `lht merge` again."
        )
    return pairs


def group_requests(object_name: str, pairs: Iterable[Pair]) -> list[MergeRequest]:
    """Pairs grouped by master, at most two losers per request, in master then loser order."""
    by_master: dict[str, list[str]] = {}
    for pair in sorted(pairs, key=lambda p: (p.master_id, p.loser_id)):
        by_master.setdefault(pair.master_id, []).append(pair.loser_id)
    out = []
    for master, losers in by_master.items():
        for start in range(0, len(losers), MAX_LOSERS_PER_REQUEST):
            out.append(
                MergeRequest(
                    object_name, master, tuple(losers[start : start + MAX_LOSERS_PER_REQUEST])
                )
            )
    return out
