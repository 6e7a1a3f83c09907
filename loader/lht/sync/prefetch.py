"""Change checks of an incremental run, grouped into Composite requests.

An incremental sync of an object that did not change costs two calls when made one by one:
the first page of its ``queryAll`` and its ``getDeleted`` check. Before the objects start,
this module asks both questions for every object that will run incrementally, packed into
REST Composite requests (:mod:`lht.salesforce.composite`: at most 5 queries and 25
subrequests each, one API call per request), so that 7 unchanged objects cost 2 calls
instead of 14. Each object's sync then reads its answers from here instead of calling:
a first page with more to read continues on its own (``nextRecordsUrl``, or Bulk for a large
delta), and a failed subrequest raises, at the same place, the error the separate call
would have raised.

Only objects whose describe is cached and fresh are grouped (the others describe first
and ask their own questions). ``LHT_COMPOSITE=0`` turns grouping off; an org or proxy that
refuses the Composite resource (404, 405, 501) turns it off for the rest of the run, said
once in the log. An API limit or budget reached by a grouped check stops the run as it
would have stopped the first object.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lht.catalog import Catalog
from lht.errors import ApiLimitError, LhtError
from lht.project import ObjectOptions
from lht.salesforce import composite
from lht.salesforce.client import SalesforceClient
from lht.salesforce.describe import ObjectPlan
from lht.salesforce.soql import build_soql
from lht.warehouse.state import ObjectState

logger = logging.getLogger(__name__)


@dataclass
class Answer:
    """A prefetched answer to one call an object's sync would make."""

    key: tuple[Any, ...]
    response: composite.SubResponse

    def body(self, what: str, *, can_relogin: bool) -> Any:
        """The body, or raise the error the separate call would have raised."""
        if not self.response.ok:
            raise self.response.error(what, can_relogin=can_relogin)
        return self.response.body


@dataclass
class Prefetched:
    """One object's prefetched answers, and the Composite calls counted on it (each call
    counts once, on the first object it served)."""

    taken_at: datetime
    answers: dict[str, Answer] = field(default_factory=dict)
    shared_calls: int = 0

    def take(self, kind: str, key: tuple[Any, ...]) -> Answer | None:
        """The answer to ``kind`` asked with ``key``, once; None if not asked that way."""
        answer = self.answers.get(kind)
        if answer is None or answer.key != key:
            return None
        del self.answers[kind]
        return answer


@dataclass
class Candidate:
    """An object that will run incrementally, with the questions its sync will ask."""

    name: str
    plan: ObjectPlan
    soql: str
    deleted_window: tuple[datetime, datetime] | None


class Prefetcher:
    """Groups the run's change checks; remembers when the org refuses Composite."""

    def __init__(self, client: SalesforceClient, enabled: bool) -> None:
        self.client = client
        self.enabled = enabled
        self._lock = threading.Lock()
        self._by_object: dict[str, Prefetched] = {}

    def take(self, name: str) -> Prefetched | None:
        """The prefetched answers of ``name`` (once), or None."""
        with self._lock:
            return self._by_object.pop(name.lower(), None)

    def run(self, candidates: Sequence[Candidate], taken_at: datetime) -> None:
        """Ask every candidate's questions in as few composite requests as the caps allow."""
        if not self.enabled or not candidates:
            return
        subrequests: list[composite.Subrequest] = []
        units: list[list[int]] = []
        owners: list[tuple[Candidate, str, tuple[Any, ...]]] = []
        for n, cand in enumerate(candidates):
            unit = [len(subrequests)]
            subrequests.append(composite.query_subrequest(f"q{n}", cand.soql, include_deleted=True))
            owners.append((cand, "query", (cand.soql,)))
            if cand.deleted_window is not None:
                start, end = cand.deleted_window
                unit.append(len(subrequests))
                subrequests.append(
                    composite.deleted_subrequest(f"d{n}", cand.plan.object_name, start, end)
                )
                owners.append((cand, "deleted", (start, end)))
            units.append(unit)
        for group in composite.groups(subrequests, units):
            if not self._send(group, subrequests, owners, taken_at):
                return

    def _send(
        self,
        group: list[int],
        subrequests: list[composite.Subrequest],
        owners: list[tuple[Candidate, str, tuple[Any, ...]]],
        taken_at: datetime,
    ) -> bool:
        chosen = [subrequests[i] for i in group]
        try:
            answers = composite.send(self.client, chosen)
        except composite.CompositeRefusedError as exc:
            logger.warning(
                "%s; checking each object with separate calls for the rest of this run "
                "(set LHT_COMPOSITE=0 to skip the attempt)",
                exc,
            )
            self.enabled = False
            return False
        except ApiLimitError:
            raise  # the quota is the run's: it stops every object, as a separate call would
        except LhtError as exc:
            # The objects ask again on their own and meet (or not) the same problem there,
            # where it is reported per object.
            logger.info("Grouped change check failed (%s); these objects will ask separately", exc)
            return True
        objects = {owners[i][0].name.lower() for i in group}
        with self._lock:
            for i in group:
                cand, kind, key = owners[i]
                entry = self._by_object.setdefault(cand.name.lower(), Prefetched(taken_at=taken_at))
                entry.answers[kind] = Answer(key, answers[subrequests[i].reference])
            # one API call, counted whole on the first object it served (the report says so)
            self._by_object[owners[group[0]][0].name.lower()].shared_calls += 1
        logger.debug("Composite change check for %s: 1 API call", ", ".join(sorted(objects)))
        return True


def candidate(
    catalog: Catalog,
    states: dict[str, ObjectState],
    name: str,
    options: ObjectOptions,
    *,
    deleted_window: Any,
) -> Candidate | None:
    """The questions ``name``'s incremental sync will ask, or None when it will not run
    incrementally from a fresh cached describe (it then asks on its own)."""
    plan = catalog.fresh_plan(name)
    if plan is None:
        return None
    state: ObjectState | None = states.get(plan.object_name.lower())
    if state is None or state.watermark is None or plan.watermark_field is None:
        return None
    if state.filter_changed(
        options.where or None
    ):  # it reads without the watermark: no change check
        return None
    soql = build_soql(plan, since=state.watermark, where=options.where)
    window = deleted_window(state, options) if plan.delete_strategy == "getdeleted" else None
    return Candidate(name, plan, soql, window)
