"""``lht devorg``: run the local org in the foreground until SIGINT/SIGTERM.

Once ready it prints ``export ...`` lines (the token flow, ``NODE_EXTRA_CA_CERTS`` for
Node clients, then the other flows' credentials commented out), on stderr how to point
jsforce and the ``sf`` CLI at it, and, with ``--state-dir DIR``, writes the exports to
``DIR/env.sh`` (0600) and its process id to ``DIR/devorg.pid``, so a Makefile can start
it in the background and ``source`` the file.
"""

from __future__ import annotations

import os
import shlex
import signal
import threading
from pathlib import Path

import click

from .http.tls import write_private


def parse_counts(value: str | None) -> dict[str, int] | None:
    """``Account=1000000,Contact=0`` -> ``{"Account": 1000000, "Contact": 0}``."""
    if not value:
        return None
    counts: dict[str, int] = {}
    for part in value.split(","):
        name, sep, number = part.strip().partition("=")
        if not sep or not name.strip() or not number.strip().isdigit():
            raise click.BadParameter(
                f"{part!r}: use OBJECT=COUNT, e.g. Account=1000", param_hint="--counts"
            )
        counts[name.strip()] = int(number)
    return counts


def export_lines(org: object) -> list[str]:
    """``export`` lines of one complete login flow (the token flow), the CA, the login URL
    and the admin token, then each other flow's variables commented out: lht (like any
    client reading ``SF_*``) refuses two complete sets, so the file works as sourced, and
    shows how to switch."""
    token = org.env("token")  # type: ignore[attr-defined]
    active = {
        "SF_INSTANCE_URL": token["SF_INSTANCE_URL"],
        "SF_ACCESS_TOKEN": token["SF_ACCESS_TOKEN"],
        "REQUESTS_CA_BUNDLE": token["REQUESTS_CA_BUNDLE"],
        "SF_LOGIN_URL": org.env("password")["SF_LOGIN_URL"],  # type: ignore[attr-defined]
        "NODE_EXTRA_CA_CERTS": org.ca_path,  # type: ignore[attr-defined]  # jsforce, sf
        "LHT_DEVORG_ADMIN_TOKEN": org.admin_token,  # type: ignore[attr-defined]
    }
    lines = [f"export {key}={shlex.quote(value)}" for key, value in active.items()]
    for flow in ("auth_url", "refresh_token", "password", "client_credentials", "jwt"):
        own = {k: v for k, v in org.env(flow).items() if k not in active}  # type: ignore[attr-defined]
        lines.append(
            f"# {flow.replace('_', ' ')} flow: `unset SF_INSTANCE_URL SF_ACCESS_TOKEN`, then:"
        )
        lines.extend(f"#   export {key}={shlex.quote(value)}" for key, value in own.items())
    return lines


def client_hints(org: object) -> list[str]:
    """Comment lines saying how to point jsforce and the ``sf`` CLI at the org."""
    url, ca = org.instance_url, org.ca_path  # type: ignore[attr-defined]
    return [
        "# Node clients trust the org's CA through NODE_EXTRA_CA_CERTS (exported above):",
        f"#   export NODE_EXTRA_CA_CERTS={shlex.quote(ca)}",
        "# sf CLI (reads the token from SF_ACCESS_TOKEN):",
        f"#   sf org login access-token --instance-url {url} --alias lht-devorg --no-prompt",
        "#   sf org display --target-org lht-devorg",
        "# jsforce:",
        f"#   new jsforce.Connection({{instanceUrl: '{url}', accessToken: process.env.SF_ACCESS_TOKEN}})",
        f"#   or log in: new jsforce.Connection({{loginUrl: '{url}'}}).login(SF_USERNAME, "
        "SF_PASSWORD + SF_SECURITY_TOKEN)",
    ]


@click.command("devorg")
@click.option(
    "--port", type=int, default=0, show_default=True, help="Port on 127.0.0.1 (0: a free one)."
)
@click.option(
    "--counts", default=None, help="Records to seed per object, e.g. Account=1000000,Contact=0."
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the generated data.")
@click.option(
    "--db-path",
    type=click.Path(dir_okay=False),
    default=None,
    help="The org database file (default: a temporary file); seeded afresh on start.",
)
@click.option(
    "--bulk-job-seconds",
    type=float,
    default=0.3,
    show_default=True,
    help="How long a Bulk 2.0 query job takes to complete.",
)
@click.option(
    "--api-daily-max",
    type=int,
    default=15000,
    show_default=True,
    help="Daily API request allowance.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write env.sh (0600) and devorg.pid here; keep the CA and key here.",
)
@click.option(
    "--soap-login/--no-soap-login",
    default=True,
    show_default=True,
    envvar="LHT_DEVORG_SOAP_LOGIN",
    show_envvar=True,
    help="Whether SOAP login() is enabled; off, the org acts as a new org, where it is "
    "disabled (INVALID_OPERATION).",
)
def devorg_command(
    port: int,
    counts: str | None,
    seed: int,
    db_path: str | None,
    bulk_job_seconds: float,
    api_daily_max: int,
    state_dir: str | None,
    soap_login: bool,
) -> None:
    """Run a local Salesforce-compatible org over HTTPS until interrupted."""
    from . import DevOrg

    parsed = parse_counts(counts)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with DevOrg(
        counts=parsed,
        seed=seed,
        db_path=db_path,
        port=port,
        bulk_job_seconds=bulk_job_seconds,
        api_daily_max=api_daily_max,
        state_dir=state_dir,
        soap_login=soap_login,
    ) as org:
        lines = export_lines(org)
        if state_dir:
            directory = Path(state_dir)
            partial = directory / "env.sh.partial"  # renamed when complete: readers never
            write_private(partial, ("\n".join(lines) + "\n").encode())  # see half a file
            os.replace(partial, directory / "env.sh")
            (directory / "devorg.pid").write_text(f"{os.getpid()}\n")
        click.echo("\n".join(lines))
        click.echo("\n".join(client_hints(org)), err=True)
        click.echo(f"# local org ready at {org.instance_url}; Ctrl-C stops it", err=True)
        import sys

        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
        if state_dir:
            (Path(state_dir) / "devorg.pid").unlink(missing_ok=True)
