"""The devstack-style CLI scenario (cli_scenario.py) on keystone-rs and on a fresh Python
Keystone 30.0.0, side by side: both transcripts — every command's exit status, output and
error text, and keystonemiddleware's view of the new user's token — must be the same once
ids, tokens and expiry times are masked.

Needs the peer venv (setup_venv.sh) for Python Keystone, so INTEROP_SKIP_MIXED=1 skips it
as it skips the mixed fleet. The two runs go in parallel: each is ~75 CLI invocations.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cli_scenario
import servers

pytestmark = pytest.mark.skipif(os.environ.get("INTEROP_SKIP_MIXED") == "1",
                                reason="INTEROP_SKIP_MIXED=1 (needs Python Keystone)")


@pytest.fixture(scope="module")
def python_keystone(tmp_path_factory):
    server = servers.PythonKeystone(servers.peer_venv(),
                                    tmp_path_factory.mktemp("python-keystone-scenario"))
    server.prepare()
    try:
        server.start()
        yield server
    finally:
        server.stop()


def start_scenario(base_url: str, workdir: Path) -> tuple[subprocess.Popen, Path, Path]:
    """cli_scenario.py in its own process (it swaps os.environ and stdout per command)."""
    workdir.mkdir(parents=True)
    output, log = workdir / "transcript.json", workdir / "scenario.log"
    with log.open("w") as log_file:
        proc = subprocess.Popen([sys.executable, cli_scenario.__file__, base_url,
                                 str(workdir), str(output)], cwd=workdir,
                                stdin=subprocess.DEVNULL, stdout=log_file,
                                stderr=subprocess.STDOUT)
    return proc, output, log


def finish_scenario(proc: subprocess.Popen, output: Path, log: Path) -> dict:
    try:
        status = proc.wait(timeout=900)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    assert status == 0, f"the scenario itself crashed ({status}):\n{servers.tail(log, 60)}"
    result = json.loads(output.read_text())
    result["steps"] = [cli_scenario.Step(**step) for step in result["steps"]]
    return result


def rendered(steps: list[cli_scenario.Step]) -> list[str]:
    return [line + "\n" for step in steps for line in step.render().splitlines()]


def test_devstack_scenario_matches_python_keystone(keystone, python_keystone, tmp_path):
    # both at once: on two cores this halves the wall time
    started = {"python-keystone": start_scenario(python_keystone.base_url,
                                                 tmp_path / "python-keystone"),
               "keystone-rs": start_scenario(keystone.base_url, tmp_path / "keystone-rs")}
    results = {name: finish_scenario(*run) for name, run in started.items()}
    python, rs = results["python-keystone"], results["keystone-rs"]

    # The reference itself must do what the scenario expects, else the scenario is wrong.
    broken = [step for step in python["steps"] if not step.as_expected()]
    assert not broken, "Python Keystone did not behave as the scenario expects:\n" + \
        "\n".join(step.render() for step in broken)

    diff = "".join(difflib.unified_diff(rendered(python["steps"]), rendered(rs["steps"]),
                                        "python-keystone", "keystone-rs", n=4))
    assert not diff, f"keystone-rs differs from Python Keystone (transcripts in {tmp_path}):\n{diff}"

    # keystonemiddleware's X-Roles, stated outright: the user's grant with the role it
    # implies and the group's member role with what bootstrap makes member imply; then,
    # with the user's grant removed, only the group's.
    before, after_user_grant = rs["roles_seen"]
    assert set(before) == {cli_scenario.ROLE, cli_scenario.IMPLIED_ROLE, "member", "reader"}
    assert set(after_user_grant) == {"member", "reader"}
