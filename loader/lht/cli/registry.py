"""The commands that edit or read the project's registry of objects: ``lht add``,
``lht remove``, ``lht objects`` and ``lht docs``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from lht.cli.output import (
    guard,
    json_option,
    print_wide,
    project_dir_option,
    stdout,
    target_options,
)
from lht.commands import tables


@click.command()
@click.argument("objects", nargs=-1, required=True)
@click.option(
    "--history",
    is_flag=True,
    help="Also build <object>_history: one row per version (valid_from, valid_to).",
)
@click.option(
    "--push",
    is_flag=True,
    help="The names are push models: write each one's change-set view beside it.",
)
@click.option(
    "--offline",
    is_flag=True,
    help="Do not check the names against the org (no Salesforce credentials needed); columns are then "
    "documented by `lht docs` after the first sync.",
)
@project_dir_option
@guard
def add(
    objects: tuple[str, ...], history: bool, push: bool, offline: bool, project_dir: Path | None
) -> None:
    """Register OBJECTS so lht loads them and dbt builds their main tables.

    OBJECTS are API names of standard or custom objects (Account, Invoice__c), checked
    against the org first (one describeGlobal call): a name the org does not have is
    refused with the closest ones, and nothing is written.

    Writes models/salesforce/<object>.sql and its entries in the sources and models YAML,
    with the description of the table and of every column from the org's describe; with
    --history also <object>_history.sql (works for objects already registered too).
    With --push, OBJECTS are push models instead: writes <model>__lht_changes.sql (the
    change set lht push reads) and its YAML beside each model.
    """
    if push:
        _add_push_views(objects, history, project_dir)
        return
    from lht.commands.scaffold import add_objects

    added = add_objects(objects, project_dir, history=history, offline=offline)
    for path in added.written:
        stdout.print(f"wrote {path}", highlight=False)
    for note in added.notes:
        stdout.print(note, highlight=False, soft_wrap=True)


def _add_push_views(
    models: tuple[str, ...], history: bool, project_dir: Path | None = None
) -> None:
    from lht.commands.push_view import add_push_views

    if history:
        raise click.UsageError("--history and --push do not go together.")
    written = add_push_views(models, project_dir)
    for path in written:
        shown = os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
        stdout.print(f"wrote {shown}", highlight=False, soft_wrap=True)
    if not written:
        stdout.print("nothing to write: the change-set views are there")


@click.command()
@click.argument("objects", nargs=-1, required=True)
@project_dir_option
@guard
def remove(objects: tuple[str, ...], project_dir: Path | None) -> None:
    """Unregister OBJECTS: undo `lht add`.

    Deletes their model files (and history models), their entries in the sources and models
    YAML (with the unit tests of those models) and their options in dbt_project.yml.
    Refused while another model refs them. The warehouse is not touched: staging and main
    tables are data, and the output says how to drop them.
    """
    from lht.commands.remove import remove_objects

    removed = remove_objects(objects, project_dir)
    for path in removed.deleted:
        stdout.print(f"deleted {path}", highlight=False)
    for what in removed.edited:
        stdout.print(f"removed {what}", highlight=False)
    stdout.print(
        f"Left in the warehouse (data, not dropped): {', '.join(removed.tables)}. dbt no longer builds "
        "them and lht sync no longer loads them; lht keeps its state of them, so a later `lht add` "
        "carries on where the last sync stopped. To drop them and that state, run in the warehouse:",
        highlight=False,
        soft_wrap=True,
    )
    for statement in removed.drop_sql:
        stdout.print(f"  {statement}", highlight=False, soft_wrap=True)


@click.command()
@click.argument("pattern", required=False)
@click.option(
    "--queryable",
    "queryable_only",
    is_flag=True,
    help="Only objects the user can query (lht loads only those).",
)
@project_dir_option
@json_option
@guard
def objects(
    pattern: str | None, queryable_only: bool, project_dir: Path | None, as_json: bool
) -> None:
    """List the org's objects (one describeGlobal call): name, label, registered or not,
    queryable, replicateable.

    PATTERN filters names and labels (a glob, any case: 'Invoice*', '*__c').
    """
    from lht.commands.objects import list_objects

    report = list_objects(pattern, project_dir=project_dir, queryable_only=queryable_only)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    print_wide(tables.objects_table(report))


@click.command()
@click.argument("objects", nargs=-1)
@click.option(
    "--check", is_flag=True, help="Change nothing; exit 1 when the YAML is not up to date (for CI)."
)
@target_options
@guard
def docs(
    objects: tuple[str, ...],
    check: bool,
    target: str | None,
    profiles_dir: Path | None,
    project_dir: Path | None,
    as_json: bool,
) -> None:
    """Describe the models of OBJECTS (default: every registered object) in their YAML, for
    `dbt docs`: the table's label and every column's label, type and help text, from the
    describes `lht sync` cached (no Salesforce call).

    Only descriptions lht wrote (marked `meta: {lht_generated: true}`) are updated; your own
    are left as they are. Run it after a sync that reports new or changed fields.
    """
    from lht.commands.docs import refresh_docs

    report = refresh_docs(
        objects, project_dir=project_dir, profiles_dir=profiles_dir, target=target, check=check
    )
    stale = check and bool(report.files)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "check": check,
                    "up_to_date": not report.files,
                    "models": report.models,
                    "files": [str(p) for p in report.files],
                    "notes": report.notes,
                },
                indent=2,
            )
        )
    else:
        for line in tables.docs_lines(report):
            stdout.print(line, highlight=False, soft_wrap=True)
    sys.exit(1 if stale else 0)


COMMANDS = (add, remove, objects, docs)
