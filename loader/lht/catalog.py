"""The describe catalog: each object's describe, read once per run, with one freshness rule.

lht caches every object's describe in ``<staging>._lht_describe``: the fields it loads
(docs/design.md, "Fields that appear or disappear"). A run builds one :class:`Catalog`:

- the cache of all its objects is read in one query (:meth:`Catalog.load`);
- the one freshness rule (:meth:`Catalog.fresh`): a cached describe serves the run while
  it is younger than ``LHT_DESCRIBE_MAX_AGE`` at the run's start and, when the run asked
  Salesforce (:meth:`Catalog.check_metadata`: one describeGlobal ``If-Modified-Since``
  call), no object's metadata changed since the oldest of them;
- an object whose cached describe is not fresh is described from Salesforce when it is
  planned (:meth:`Catalog.plan`), and the catalog keeps what was written since.

``lht sync`` (its objects and its grouped change checks) and ``lht push`` ask it; no other
code reads the describe cache. Sits above the Salesforce and warehouse wings, below the
run wings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from lht.clock import utcnow
from lht.config import Settings
from lht.salesforce.client import SalesforceClient
from lht.salesforce.describe import ObjectPlan, plan_object
from lht.warehouse.state import StateStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldChange:
    """Fields a fresh describe shows that the cached one did not, and the reverse.

    A fresh describe that lists a field the cached one did not means that field must be
    backfilled for every record (its values exist although no SystemModstamp moved); one
    that no longer lists a field means access was revoked or the field deleted (its column
    and last values stay). ``pending`` is the fresh describe when fields were added: it is
    cached only after they have been backfilled, so a run that fails before finds them new
    again.
    """

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    pending: dict | None = None


class Catalog:
    """The describes of one run's objects: the cache as read at the start, and the rule."""

    def __init__(
        self, cached: dict[str, tuple[datetime, dict]], max_age_seconds: float, now: datetime
    ) -> None:
        self._cached = dict(cached)
        #: objects described (and cached) during this run: fresh whatever the rule says
        self._described: set[str] = set()
        self._lock = threading.Lock()
        self.max_age_seconds = max_age_seconds
        #: the run's start: cache ages are taken at this moment, once for the whole run
        self.now = now
        #: True when Salesforce's metadata changed since the oldest cached describe
        self.metadata_changed = False

    @classmethod
    def load(
        cls,
        store: StateStore,
        names: Iterable[str],
        settings: Settings,
        now: datetime | None = None,
    ) -> Catalog:
        """The catalog of ``names``: their cached describes in one query."""
        return cls(store.get_describes(names), settings.describe_max_age_seconds, now or utcnow())

    def check_metadata(self, client: SalesforceClient, names: Iterable[str]) -> bool:
        """Ask Salesforce once (describeGlobal ``If-Modified-Since`` the oldest cached
        describe of ``names``) whether any metadata changed; if so, no cached describe is
        fresh this run. Skipped (no call spent) when some object has no cached describe:
        it is described anyway, and the others' ages still apply."""
        entries = [self._cached.get(name.lower()) for name in names]
        if not entries or any(entry is None for entry in entries):
            return False
        oldest = min(entry[0] for entry in entries if entry is not None)
        self.metadata_changed = client.describe_global_changed_since(oldest)
        if self.metadata_changed:
            logger.info("Salesforce metadata changed since %s: re-describing", oldest.isoformat())
        return self.metadata_changed

    # -- the rule ---------------------------------------------------------------------------
    def fresh(self, name: str) -> dict | None:
        """The cached describe of ``name`` if it serves this run, else None."""
        with self._lock:
            entry = self._cached.get(name.lower())
            described = name.lower() in self._described
        if entry is not None and described:
            return entry[1]
        if entry is None or self.metadata_changed:
            return None
        fetched_at, describe = entry
        return describe if (self.now - fetched_at).total_seconds() < self.max_age_seconds else None

    def cached(self, name: str) -> dict | None:
        """The describe cached for ``name`` when the run started, whatever its age (the fields
        loaded at the last sync), or None."""
        with self._lock:
            entry = self._cached.get(name.lower())
        return entry[1] if entry else None

    def fresh_plan(self, name: str) -> ObjectPlan | None:
        """The plan of ``name`` from its fresh cached describe, or None."""
        describe = self.fresh(name)
        return plan_object(describe) if describe is not None else None

    # -- describing -------------------------------------------------------------------------
    def plan(
        self, name: str, client: SalesforceClient, store: StateStore
    ) -> tuple[ObjectPlan, FieldChange]:
        """The object's plan (from the cached describe while fresh, else describe), and the
        fields a fresh describe added or removed against the cached one. ``store`` is the
        caller's (a thread's own warehouse cursor)."""
        cached = self.fresh(name)
        if cached is not None:
            return plan_object(cached), FieldChange()
        with self._lock:
            entry = self._cached.get(name.lower())
        describe = client.describe(name)
        plan = plan_object(describe)
        if entry is None:
            self.put(store, describe["name"], describe)
            return plan, FieldChange()
        old = {f.name.lower(): f.name for f in plan_object(entry[1]).fields if f.loadable}
        new = {f.name.lower(): f.name for f in plan.fields if f.loadable}
        change = FieldChange(
            added=tuple(new[k] for k in new if k not in old),
            removed=tuple(old[k] for k in old if k not in new),
        )
        if change.added:
            return plan, FieldChange(change.added, change.removed, pending=describe)
        self.put(store, describe["name"], describe)
        return plan, change

    def describe(
        self, name: str, store: StateStore, fetch: Callable[[], dict] | None
    ) -> dict | None:
        """The describe of ``name``: the cached one while fresh, else ``fetch()``'s (cached);
        None when it is not fresh and there is nothing to fetch with."""
        cached = self.fresh(name)
        if cached is not None or fetch is None:
            return cached
        described = fetch()
        self.put(store, name, described)
        return described

    def put(self, store: StateStore, name: str, describe: dict) -> None:
        """Cache ``describe`` for ``name`` (the warehouse and this catalog)."""
        store.put_describe(name, describe)
        with self._lock:
            self._cached[name.lower()] = (utcnow(), describe)
            self._described.add(name.lower())

    def forget(self, store: StateStore, name: str) -> None:
        """Drop the cached describe of ``name``: the next run describes it again."""
        store.forget_describe(name)
        with self._lock:
            self._cached.pop(name.lower(), None)
            self._described.discard(name.lower())
