"""`lht merge` refuses a model's rows before any call, naming them: malformed Ids (length,
checksum, key prefix, empty, a trailing newline), a record merged into itself (15 and 18-character forms of one
Id are the same record), a loser listed twice, a record both master and loser. Exit 2,
nothing sent, nothing written; a dry run refuses the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e.conftest import Workspace, make_workspace

from lht.errors import MergeRefusedError
from lht.merge.validate import group_requests, id_problem, to18, validate_rows
from lht_devorg import DevOrg

from .conftest import add_merge_model, literal_model, merge, model_report, soap_posts

A1, A2, A3, A4 = (
    "0018d0000000001AAA",
    "0018d0000000002AAA",
    "0018d0000000003AAA",
    "0018d0000000004AAA",
)
CONTACT = "0038d0000000001AAA"

#: model name -> (rows, what the refusal must say, the row it must name)
BAD_MODELS: dict[str, tuple[list[tuple[str | None, str | None]], str, str]] = {
    "bad_length": (
        [(A1, "0018d00000000"), (A3, A4)],
        "is not a Salesforce Id",
        f"(MasterId='{A1}', LoserId='0018d00000000')",
    ),
    "bad_checksum": (
        [(A1, "0018d0000000002AAB")],
        "wrong checksum",
        "LoserId='0018d0000000002AAB'",
    ),
    # a trailing newline once passed the Id check and skipped the checksum
    "trailing_newline": (
        [(A1, "0018d0000000002AAB\n"), (A3, A4)],
        "is not a Salesforce Id",
        "LoserId='0018d0000000002AAB\\n'",
    ),
    "bad_prefix": ([(A1, CONTACT)], "is not an Account Id", f"LoserId='{CONTACT}'"),
    "empty_id": ([(None, A2), (A3, A4)], "MasterId is empty", f"(MasterId=None, LoserId='{A2}')"),
    "into_itself": ([(A1, A1[:15]), (A3, A4)], "merged into themselves", f"LoserId='{A1[:15]}'"),
    "loser_twice": (
        [(A1, A3), (A2, A3[:15])],
        "losers listed more than once",
        f"LoserId='{A3[:15]}'",
    ),
    "master_and_loser": (
        [(A1, A2), (A2, A3)],
        "both master and loser",
        f"(MasterId='{A1}', LoserId='{A2}')",
    ),
}


@pytest.fixture(scope="module")
def bad_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """One org and one build holding every bad model (each run names one of them)."""
    root = tmp_path_factory.mktemp("bad")
    with DevOrg(
        counts={
            "Account": 10,
            "Contact": 5,
            "Lead": 2,
            "Opportunity": 2,
            "Case": 2,
            "Task": 2,
            "Invoice__c": 0,
            "Attachment": 0,
        }
    ) as org:
        ws = make_workspace("duckdb", root, org)
        for name, (rows, _, _) in BAD_MODELS.items():
            add_merge_model(ws, name, literal_model("Account", rows))
        ws.build("--select", "path:models/merges")
        yield ws


@pytest.mark.parametrize(
    ("name", "dry_run"),
    [(name, False) for name in sorted(BAD_MODELS)]
    + [("bad_checksum", True), ("loser_twice", True)],
)
def test_each_kind_of_bad_row_refuses_the_merge_naming_the_row_and_sends_nothing(
    bad_ws: Workspace, name: str, dry_run: bool
) -> None:
    _, needle, named = BAD_MODELS[name]
    before = soap_posts(bad_ws.org)
    calls = bad_ws.org.api_calls
    run = merge(bad_ws, name, *(["--dry-run"] if dry_run else []))
    assert run.returncode == 2, run.stdout + run.stderr
    refusal = " ".join(model_report(run, name)["refusals"])
    assert needle in refusal and named in refusal, refusal
    assert A4 not in refusal, "a good row was named as bad"
    assert soap_posts(bad_ws.org) == before
    assert bad_ws.org.api_calls == calls, "a refused merge must not call Salesforce at all"
    assert "_lht_merge_results" not in {t.lower() for t in _staging_tables(bad_ws)}


def test_one_refused_model_sends_nothing_for_the_good_ones_either(
    bad_ws: Workspace, tmp_path: Path
) -> None:
    add_merge_model(bad_ws, "good_one", literal_model("Account", [(A1, A2)]))
    bad_ws.build("--select", "good_one")
    run = merge(bad_ws, "good_one", "bad_prefix")
    assert run.returncode == 2
    good = model_report(run, "good_one")
    assert good["sent"] == 0 and "not sent" in good["error"]
    assert soap_posts(bad_ws.org) == 0


def _staging_tables(ws: Workspace) -> list[str]:
    _, rows = ws.query(
        "select table_name from information_schema.tables where table_schema = 'salesforce_staging'"
    )
    return [r[0] for r in rows]


# -- the rules themselves, on the loader's own functions ----------------------------------------
#: 15-character Ids and their 18-character forms, worked out by hand from Salesforce's checksum
#: (per 5-character chunk, a bit for each capital letter, read as one of A-Z0-5)
ID18 = {
    "0018d0000000001": "0018d0000000001AAA",
    "00Q8d0000000001": "00Q8d0000000001EAA",
    "0015000000VALDt": "0015000000VALDtAAP",
    "001Dn00000AbCdE": "001Dn00000AbCdEIAV",
    "003XYZABCDEFGHI": "003XYZABCDEFGHIY55",
}
LEAD = ID18["00Q8d0000000001"]


@pytest.mark.parametrize(("short", "full"), sorted(ID18.items()))
def test_the_18_character_form_carries_salesforces_checksum(short: str, full: str) -> None:
    assert to18(short) == full
    assert to18(full) == full


def test_the_15_and_18_character_forms_of_one_id_are_one_record() -> None:
    with pytest.raises(MergeRefusedError, match="merged into themselves"):
        validate_rows("m", "Account", [(A1[:15], A1)])
    with pytest.raises(MergeRefusedError, match="merged into themselves"):
        validate_rows("m", "Account", [("001Dn00000AbCdE", "001Dn00000AbCdEIAV")])


@pytest.mark.parametrize(
    ("object_name", "good", "bad"),
    [
        ("Account", "0018d0000000001AAA", "0038d0000000001AAA"),
        ("Contact", "0038d0000000001AAA", LEAD),
        ("Lead", LEAD, "0018d0000000001AAA"),
    ],
)
def test_the_key_prefix_must_be_the_objects(object_name: str, good: str, bad: str) -> None:
    assert id_problem(good, object_name) is None
    assert "is not a" in (id_problem(bad, object_name) or "")


def test_a_checksum_in_the_wrong_case_or_with_wrong_letters_is_refused() -> None:
    assert id_problem("0018d0000000001aaa", "Account") is None  # the suffix is case-insensitive
    assert "checksum" in (id_problem("0018d0000000001AAB", "Account") or "")
    assert "checksum" in (id_problem("0018D0000000001AAA", "Account") or "")  # a capital changes it


def test_losers_are_grouped_by_master_two_per_request() -> None:
    losers = [f"0018d00000000{n:02d}AAA" for n in range(10, 15)]
    pairs = validate_rows(
        "m", "Account", [(A1, loser[:15]) for loser in losers]
    )  # 15-character forms
    requests = group_requests("Account", pairs)
    assert [len(r.loser_ids) for r in requests] == [2, 2, 1]
    assert {r.master_id for r in requests} == {A1}
    assert sorted(i for r in requests for i in r.loser_ids) == sorted(
        losers
    )  # sent as 18 characters


def test_a_held_run_lock_refuses_the_merge_with_exit_3(
    bad_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lht.warehouse.lock import run_lock
    from lht.warehouse.target import load_target

    monkeypatch.setenv("LHT_DUCKDB_PATH", str(bad_ws.duckdb_path))
    target = load_target(bad_ws.project, bad_ws.profiles)
    with run_lock(target):
        run = merge(bad_ws, "bad_prefix")
    assert run.returncode == 3, run.stdout + run.stderr
    assert "lock" in run.stderr.lower()
