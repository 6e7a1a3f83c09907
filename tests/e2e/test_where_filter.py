"""A user's ``where`` filter in dbt_project.yml with a relationship field and a date literal:
`lht sync` loads exactly the records Salesforce's SOQL would select, over REST and Bulk.

The org's clock stands at noon (UTC, the org's time zone) of the current day, so ``TODAY``
means the same day when the records are made, when lht reads them and when the test checks,
whenever the suite runs (midnight UTC included)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from lht_devorg import DevOrg, ShiftedClock

from .conftest import make_workspace

COUNTS = {
    "User": 3,
    "Account": 30,
    "Contact": 60,
    "Case": 0,
    "Lead": 0,
    "Opportunity": 0,
    "Task": 0,
}
WHERE = "Account.Industry != null AND Account.Owner.IsActive = true AND CreatedDate < TODAY"


@pytest.mark.parametrize(("rest_max_rows", "engine"), [("100000", "rest"), ("1", "bulk")])
def test_sync_loads_what_a_relationship_and_date_literal_filter_selects(
    tmp_path: Path, rest_max_rows, engine
):
    now = datetime.now(UTC)
    noon = ShiftedClock(
        (now.replace(hour=12, minute=0, second=0, microsecond=0) - now).total_seconds()
    )
    with DevOrg(counts=COUNTS, state_dir=tmp_path / "org", bulk_job_seconds=0.1, clock=noon) as org:
        ws = make_workspace("duckdb", tmp_path, org)
        config_path = ws.project / "dbt_project.yml"
        config = yaml.safe_load(config_path.read_text())
        config["vars"]["lht_objects"] = {"Contact": {"where": WHERE}}
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        industrious = (
            org.engine.cursor()
            .execute('SELECT "Id" FROM account WHERE "Industry" IS NOT NULL LIMIT 1')
            .fetchone()[0]
        )
        made_today = org.engine.create(
            "Contact", {"LastName": "Created today", "AccountId": industrious}
        )

        report = ws.sync("Contact", extra_env={"LHT_REST_MAX_ROWS": rest_max_rows}).report
        assert report["results"][0]["engine"] == engine

        _, staged = ws.query(
            "select \"Id\" from salesforce_staging.contact where _lht_kind = 'record'"
        )
        # the first sync reads with queryAll: records in the recycle bin are selected too
        want = {
            row[0]
            for row in org.engine.cursor()
            .execute(
                'SELECT c."Id" FROM contact c JOIN account a ON a."Id" = c."AccountId" '
                'JOIN "user" u ON u."Id" = a."OwnerId" WHERE a."Industry" IS NOT NULL AND u."IsActive" '
                'AND CAST(c."CreatedDate" AS DATE) < ?',
                [noon().date()],
            )
            .fetchall()
        }
        assert want and {row[0] for row in staged} == want
        assert made_today not in want
