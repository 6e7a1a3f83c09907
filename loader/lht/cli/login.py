"""``lht login`` and ``lht logout``: the browser login stored for later runs."""

from __future__ import annotations

import json
import webbrowser

import click

from lht.cli.output import guard, json_option, stderr, stdout


@click.command()
@click.option(
    "--login-url",
    default=None,
    metavar="URL",
    help="Where to log in (default: $SF_LOGIN_URL, else https://login.salesforce.com); "
    "https://test.salesforce.com for a sandbox, or your My Domain URL.",
)
@click.option(
    "--client-id",
    default=None,
    metavar="ID",
    help="The client id (consumer key) of your External Client App or connected app "
    "(default: $SF_CLIENT_ID; its secret, when it has one, only from $SF_CLIENT_SECRET).",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=1717,
    show_default=True,
    help="The port of the callback http://127.0.0.1:PORT/OauthRedirect (the app must have it).",
)
@click.option(
    "--no-browser", is_flag=True, help="Only print the URL to open; do not open a browser."
)
@click.option(
    "--timeout",
    "timeout_seconds",
    type=click.FloatRange(1),
    default=300,
    show_default=True,
    help="Seconds to wait for the browser.",
)
@json_option
@guard
def login(
    login_url: str | None,
    client_id: str | None,
    port: int,
    no_browser: bool,
    timeout_seconds: float,
    as_json: bool,
) -> None:
    """Log in to Salesforce in a browser (OAuth web server flow with PKCE) and store the
    refresh token for later runs, in a file only you can read.

    lht sync, push, merge and the other commands use the stored login while no SF_* login
    variable is set. `lht logout` revokes and removes it.
    """
    from lht.commands.login import run_login

    def show(url: str) -> None:
        click.echo("Open this URL to log in to Salesforce and approve lht:", err=True)
        click.echo(url, err=True)  # whole, on one line: it must survive copying
        if not no_browser:
            webbrowser.open(url)

    result = run_login(
        show, login_url=login_url, client_id=client_id, port=port, timeout_seconds=timeout_seconds
    )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": True,
                    "login_file": str(result.login_file),
                    "instance_url": result.instance_url,
                    "identity_url": result.identity_url,
                },
                indent=2,
            )
        )
        return
    stdout.print(
        f"Logged in to {result.instance_url}. The refresh token is stored in {result.login_file} "
        "(readable only by you); lht uses it while no SF_* login variable is set. "
        "`lht logout` revokes and removes it.",
        highlight=False,
        soft_wrap=True,
    )


@click.command()
@json_option
@guard
def logout(as_json: bool) -> None:
    """Revoke the login `lht login` stored (at Salesforce) and remove its file."""
    from lht.commands.login import run_logout

    result = run_logout()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": True,
                    "login_file": str(result.login_file),
                    "removed": result.removed,
                    "revoked": result.revoked,
                    "note": result.note,
                },
                indent=2,
            )
        )
        return
    if not result.removed:
        stdout.print(
            f"No login stored in {result.login_file}; nothing to do.",
            highlight=False,
            soft_wrap=True,
        )
        return
    said = "revoked and removed" if result.revoked else "removed"
    stdout.print(
        f"Logged out: the refresh token was {said} ({result.login_file}).",
        highlight=False,
        soft_wrap=True,
    )
    if result.note:
        stderr.print(f"note: {result.note}", highlight=False, soft_wrap=True, markup=False)
