"""Simulated user activity between two demo runs: some records created, edited, deleted."""

from __future__ import annotations

import random

from .engine import OrgEngine

#: (object, records created, records updated, records deleted) per activity round.
ROUND = (("Account", 3, 8, 1), ("Contact", 5, 12, 2), ("Opportunity", 4, 10, 1), ("Case", 6, 9, 1))


def simulate_activity(engine: OrgEngine, *, seed: int | None = None) -> str:
    """Change a few records the way users would; return a one-line summary."""
    rng = random.Random(seed)
    created = updated = deleted = 0
    for obj, n_create, n_update, n_delete in ROUND:
        rs = engine.execute(f"SELECT Id FROM {obj}", include_deleted=False)
        try:
            ids = [r["Id"] for r in engine.page_records(rs, 0, rs.total_size)]
        finally:
            engine.release(rs)
        for i in range(n_create):
            engine.create(obj, _new_values(obj, i, rng))
            created += 1
        for record_id in rng.sample(ids, min(n_update, len(ids))):
            engine.update(
                obj, record_id, {"Description": f"Edited in the demo ({rng.randint(1, 9999)})"}
            )
            updated += 1
        for record_id in rng.sample(ids, min(n_delete, len(ids))):
            engine.delete(obj, record_id)
            deleted += 1
    return f"{created} records created, {updated} edited, {deleted} deleted"


def _new_values(obj: str, i: int, rng: random.Random) -> dict:
    tag = rng.randint(1000, 9999)
    if obj == "Account":
        return {"Name": f"Demo Prospect {tag}", "Industry": "Technology", "BillingCity": "Lyon"}
    if obj == "Contact":
        return {"LastName": f"Demo{tag}", "FirstName": "Ada", "Email": f"ada{tag}@example.com"}
    if obj == "Opportunity":
        return {
            "Name": f"Demo deal {tag}",
            "StageName": "Prospecting",
            "CloseDate": "2027-03-31",
            "Amount": 1000 * (i + 1),
        }
    return {"Subject": f"Demo case {tag}", "Status": "New", "Origin": "Web"}
