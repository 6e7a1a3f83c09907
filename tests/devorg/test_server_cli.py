"""``lht devorg`` (the click command): ready lines on stdout, env.sh 0600, clean stop."""

from __future__ import annotations

import os
import shlex
import signal
import stat
import subprocess
import sys
import time

import requests

LAUNCH = (
    "import sys; from lht_devorg.cli import devorg_command; "
    "sys.exit(devorg_command.main(prog_name='lht devorg'))"
)


def test_devorg_command_prints_exports_writes_env_file_and_stops_on_sigterm(tmp_path):
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            LAUNCH,
            "--counts",
            "Account=5,Contact=0",
            "--state-dir",
            str(state),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        assert first.startswith("export SF_INSTANCE_URL="), first
        assert proc.stdout.readline().startswith("export SF_ACCESS_TOKEN=")
        env_file = state / "env.sh"
        deadline = time.monotonic() + 30
        while not env_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
        lines = env_file.read_text().splitlines()
        env = dict(
            shlex.split(line)[1].split("=", 1) for line in lines if line.startswith("export ")
        )
        assert {"SF_INSTANCE_URL", "SF_ACCESS_TOKEN", "REQUESTS_CA_BUNDLE", "SF_LOGIN_URL"} <= set(
            env
        )
        # one complete flow exported; the others shown, commented out (two complete sets are refused)
        shown = {
            shlex.split(line.lstrip("# "))[1].split("=", 1)[0]
            for line in lines
            if line.startswith("#   export ")
        }
        assert {
            "SF_USERNAME",
            "SF_PASSWORD",
            "SF_SECURITY_TOKEN",
            "SF_CLIENT_ID",
            "SF_CLIENT_SECRET",
            "SF_PRIVATE_KEY_FILE",
        } <= shown and not shown & set(env)
        assert (state / "devorg.pid").read_text().strip() == str(proc.pid)
        response = requests.get(
            f"{env['SF_INSTANCE_URL']}/services/data/v59.0/query/",
            params={"q": "SELECT COUNT() FROM Account"},
            headers={"Authorization": f"Bearer {env['SF_ACCESS_TOKEN']}"},
            verify=env["REQUESTS_CA_BUNDLE"],
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert response.json()["totalSize"] == 5
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert not (state / "devorg.pid").exists()
    assert env["NODE_EXTRA_CA_CERTS"] == env["REQUESTS_CA_BUNDLE"]
    hints = proc.stderr.read()
    assert f"sf org login access-token --instance-url {env['SF_INSTANCE_URL']}" in hints
    assert f"instanceUrl: '{env['SF_INSTANCE_URL']}'" in hints


def test_counts_option_rejects_malformed_values():
    result = subprocess.run(
        [sys.executable, "-c", LAUNCH, "--counts", "Account"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "OBJECT=COUNT" in result.stderr
