"""The plan of an object from its describe, and the fields that appeared or disappeared.

The cached describe (``_lht_describe``) is the list of fields lht has loaded. A fresh
describe that lists a field the cached one did not means that field must be backfilled
for every record (its values exist although no SystemModstamp moved); one that no longer
lists a field means access was revoked or the field deleted (its column and last values
stay). See docs/design.md, "Fields that appear or disappear".
"""

from __future__ import annotations

from dataclasses import dataclass

from lht.clock import utcnow
from lht.salesforce.client import SalesforceClient
from lht.salesforce.describe import ObjectPlan, plan_object
from lht.warehouse.state import StateStore


@dataclass(frozen=True)
class FieldChange:
    """Fields a fresh describe shows that the cached one did not, and the reverse.

    ``pending`` is the fresh describe when fields were added: it is cached only after they
    have been backfilled, so a run that fails before finds them new again.
    """

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    pending: dict | None = None


def plan_with_changes(client: SalesforceClient, store: StateStore, name: str, *, fresh: bool,
          max_age: int) -> tuple[ObjectPlan, FieldChange]:
    """The object's plan (from the cached describe while fresh, else describe), and the
    fields a fresh describe added or removed against the cached one."""
    cached = store.get_describe(name)
    if not fresh and cached is not None and (utcnow() - cached[0]).total_seconds() < max_age:
        return plan_object(cached[1]), FieldChange()
    describe = client.describe(name)
    plan = plan_object(describe)
    if cached is None:
        store.put_describe(describe["name"], describe)
        return plan, FieldChange()
    old = {f.name.lower(): f.name for f in plan_object(cached[1]).fields if f.loadable}
    new = {f.name.lower(): f.name for f in plan.fields if f.loadable}
    change = FieldChange(added=tuple(new[k] for k in new if k not in old),
                         removed=tuple(old[k] for k in old if k not in new))
    if change.added:
        return plan, FieldChange(change.added, change.removed, pending=describe)
    store.put_describe(describe["name"], describe)
    return plan, change
