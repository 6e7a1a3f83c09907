"""One rule for Salesforce names and Ids, whichever wing asks (lht.names)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lht.commands.scaffold import add_objects
from lht.errors import InvalidNameError
from lht.merge.validate import id_problem as merge_id_problem
from lht.names import (
    check_field_name,
    check_identifier,
    check_object_name,
    check_push_column,
    id_problem,
    table_name,
    to18,
)
from lht.project import Project

REPO = Path(__file__).resolve().parents[2]

GOOD_OBJECTS = [
    "Account",
    "Invoice__c",
    "ns__Thing__c",
    "My_Obj__c",
    "Address_2__c",
    "Account__History",
    "ns__Invoice__ChangeEvent",
    "A",
]
BAD_OBJECTS = [
    "Foo__c\n",
    "\nAccount",
    "Account ",
    "Account; DROP TABLE x",
    'Acc"ount',
    "1Account",
    "_Account",
    "Account_",
    "Acc___x",
    "ns__1x__c",
    "Account.Name",
    "",
    "a" * 81,
    "Ac-count",
    "Acçount",
]


@pytest.mark.parametrize("name", GOOD_OBJECTS)
def test_api_names_of_every_form_are_accepted(name: str) -> None:
    assert check_object_name(name) == name
    assert check_field_name(name) == name
    assert table_name(name) == name.lower()


@pytest.mark.parametrize("name", BAD_OBJECTS)
def test_anything_but_a_whole_api_name_is_refused_by_every_user_of_the_rule(name: str) -> None:
    with pytest.raises(InvalidNameError):
        check_object_name(name)
    with pytest.raises(InvalidNameError):
        check_field_name(name, "push key")
    with pytest.raises(InvalidNameError):
        table_name(name)


def test_lht_add_and_the_registry_refuse_a_name_with_a_trailing_newline(tmp_path: Path) -> None:
    shutil.copytree(
        REPO / "dbt_project",
        tmp_path / "p",
        ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"),
    )
    before = sorted(p.name for p in (tmp_path / "p" / "models" / "salesforce").iterdir())
    with pytest.raises(InvalidNameError):
        add_objects(["Foo__c\n"], tmp_path / "p")
    assert sorted(p.name for p in (tmp_path / "p" / "models" / "salesforce").iterdir()) == before
    with pytest.raises(InvalidNameError):
        Project(project_dir=tmp_path, objects={}).resolve(["Account\n"])


def test_fields_may_have_a_component_segment_objects_may_not() -> None:
    assert check_field_name("ns__Site__Latitude__s") == "ns__Site__Latitude__s"
    with pytest.raises(InvalidNameError):
        check_object_name("ns__Site__Latitude__s")


def test_a_field_error_names_what_the_name_was_meant_to_be() -> None:
    with pytest.raises(InvalidNameError, match="push key 'External_Id__c\" as TEXT'"):
        check_field_name('External_Id__c" as TEXT', "push key")


@pytest.mark.parametrize("name", ["salesforce", "_lht_state", "SALESFORCE_STAGING", "x1"])
def test_warehouse_identifiers_accept_plain_names(name: str) -> None:
    assert check_identifier(name) == name


@pytest.mark.parametrize("name", ["sales force", "x\n", 'a"b', "1abc", "a;b", "", "a" * 256])
def test_warehouse_identifiers_refuse_anything_else(name: str) -> None:
    with pytest.raises(InvalidNameError):
        check_identifier(name, "schema")


def test_ids_are_checked_whole_so_a_trailing_newline_cannot_skip_the_checksum() -> None:
    # 0015000000Gv7qJAAR is the documented 18-character form of 0015000000Gv7qJ
    assert id_problem("0015000000Gv7qJAAR") is None
    assert "not a Salesforce Id" in (id_problem("0015000000Gv7qJAAR\n") or "")
    assert "not a Salesforce Id" in (id_problem("0015000000Gv7qJ\n") or "")
    assert "checksum" in (id_problem("0015000000Gv7qJAAX") or "")
    assert "not a Salesforce Id" in (merge_id_problem("0015000000Gv7qJAAR\n", "Account") or "")
    assert to18("0015000000Gv7qJ") == "0015000000Gv7qJAAR"


def test_an_id_of_another_object_is_named_by_its_key_prefix() -> None:
    assert id_problem("0015000000Gv7qJAAR", "003", "Contact") == (
        "'0015000000Gv7qJAAR' is not a Contact Id (those start with 003)"
    )
    assert "an Account Id" in (id_problem("0035000000Gv7qJ", "001", "Account") or "")


@pytest.mark.parametrize(
    "name",
    [
        "Name",
        "Account_Score__c",
        "ACCOUNT_SCORE__C",
        "Account.External_Id__c",
        "ns__Parent__r.ns__Key__c",
        "_note",
        "_",
        "_key_2",
    ],
)
def test_a_push_column_is_a_field_a_lookup_through_a_parent_or_a_column_of_the_models_own(
    name: str,
) -> None:
    assert check_push_column(name) == name


@pytest.mark.parametrize(
    "name",
    [
        'Name"; drop table x; --',
        'External_Id__c" as TEXT) ...; DROP TABLE t',
        "Name\n",
        "a b",
        "1abc",
        "Account.Parent.Name",
        "Name.",
        ".Name",
        "Na-me",
        "",
    ],
)
def test_anything_else_is_refused_as_a_push_column(name: str) -> None:
    with pytest.raises(InvalidNameError, match="is not a field API name"):
        check_push_column(name)
