"""``lht report``: the run history as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from lht.cli.output import guard, profiles_dir_option, project_dir_option, stdout, target_option


@click.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("lht-report.html"),
    show_default=True,
    help="The HTML file to write.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=30,
    show_default=True,
    help="Runs of the last DAYS days.",
)
@target_option
@profiles_dir_option
@project_dir_option
@guard
def report(
    output: Path, days: int, target: str | None, profiles_dir: Path | None, project_dir: Path | None
) -> None:
    """Write the run history (lht sync, push and merge) as one HTML page: rows and seconds per
    sync run and object, API calls per day against the org's limit, push and merge outcomes,
    freshness, and the last failures with their messages.

    The page is self-contained: it opens without network (its charting script is inside).
    Reads the warehouse only (no Salesforce call); `dbt build` is not needed first.
    """
    from lht.commands.report import collect_report, write_report

    data = collect_report(
        project_dir=project_dir, profiles_dir=profiles_dir, target=target, days=days
    )
    path = write_report(data, output)
    stdout.print(
        f"wrote {path} ({len(data.runs)} runs since {data.since:%Y-%m-%d %H:%M} UTC)",
        highlight=False,
        soft_wrap=True,
    )
