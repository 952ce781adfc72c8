"""The minicloud the scenario runs against: `minicloud.sh up` into a fresh directory once per
session, `down` at the end and the directory removed (MINICLOUD_KEEP=1 keeps it, logs
included; a failing test shows the tail of every log). MINICLOUD_DIR names an already running
minicloud instead, left running."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
MINICLOUD = HERE.parent / "minicloud.sh"


@dataclass
class Cloud:
    dir: Path
    env: dict[str, str]
    urls: dict[str, str] = field(default_factory=dict)
    # (token, time.monotonic() of its revocation): see revoke_while_cached
    revoked_while_cached: tuple[dict, float] | None = None

    def osc(self, cloud: str, *args: str, json_out: bool = True, check: bool = True,
            extra_env: dict | None = None):
        """`openstack --os-cloud CLOUD ARGS -f json`: the parsed answer (or the completed
        process when `check` is False)."""
        cmd = ["openstack", "--os-cloud", cloud, *args]
        if json_out:
            cmd += ["-f", "json"]
        env = dict(self.env, **(extra_env or {}))
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if not check:
            return done
        if done.returncode != 0:
            raise AssertionError(f"$ {shlex.join(cmd)}\nexit {done.returncode}\n"
                                 f"{done.stdout}\n{done.stderr[-3000:]}")
        return json.loads(done.stdout) if json_out and done.stdout.strip() else done.stdout

    def token(self, cloud: str) -> dict:
        return self.osc(cloud, "token", "issue")

    def get(self, service: str, path: str, token: str, **headers) -> requests.Response:
        return requests.get(self.urls[service] + path, timeout=60,
                            headers={"X-Auth-Token": token, **headers})

    def conf(self, name: str) -> Path:
        return self.dir / "etc" / name


def read_openrc(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            name, value = line[len("export "):].split("=", 1)
            env[name] = value.strip('"')
    return env


@pytest.fixture(scope="session")
def cloud():
    given = os.environ.get("MINICLOUD_DIR")
    base = Path(given) if given else Path(tempfile.mkdtemp(prefix="minicloud-"))
    if not given:
        up = subprocess.run(["bash", str(MINICLOUD), "up", str(base)], capture_output=True,
                            text=True, timeout=900)
        if up.returncode != 0:
            pytest.fail(f"minicloud up failed:\n{up.stderr[-6000:]}", pytrace=False)
    exported = read_openrc(base / "openrc")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(exported)
    env["PATH"] = exported["PATH"].replace("$PATH", os.environ["PATH"])
    env.pop("OS_CLOUD", None)
    urls = {"keystone": exported["MINICLOUD_KEYSTONE_URL"],
            "placement": exported["MINICLOUD_PLACEMENT_URL"],
            "glance": exported["MINICLOUD_GLANCE_URL"],
            "heat": exported["MINICLOUD_HEAT_URL"]}
    cloud = Cloud(base, env, urls)
    cloud.revoked_while_cached = revoke_while_cached(cloud)
    yield cloud
    if not given:
        subprocess.run(["bash", str(MINICLOUD), "down", str(base)], timeout=300)
        if os.environ.get("MINICLOUD_KEEP") != "1":
            shutil.rmtree(base, ignore_errors=True)


def revoke_while_cached(cloud: Cloud) -> tuple[dict, float]:
    """A token every service validated (and so cached), revoked right after: made as soon as
    the cloud is up; the last test (test_negative.py) checks that each service refuses it
    within token_cache_time, the scenario running meanwhile."""
    token = cloud.token("devstack-admin")
    for service, path in (("placement", "/resource_providers"), ("glance", "/v2/images"),
                          ("heat", f"/v1/{token['project_id']}/stacks")):
        answer = cloud.get(service, path, token["id"],
                           **{"OpenStack-API-Version": "placement 1.39"})
        assert answer.status_code == 200, (service, answer.status_code, answer.text)
    cloud.osc("devstack-system-admin", "token", "revoke", token["id"], json_out=False)
    return token, time.monotonic()


def pytest_collection_modifyitems(items):
    """Tests marked `last` run after all the others."""
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


def pytest_runtest_makereport(item, call):
    """On a failure, the tail of every service log (the logs stay in the minicloud dir)."""
    if call.when == "call" and call.excinfo is not None and "cloud" in item.funcargs:
        logs = item.funcargs["cloud"].dir / "logs"
        for log in sorted(logs.glob("*.log")):
            lines = [line for line in log.read_text(errors="replace").splitlines()
                     if "blazarclient" not in line][-12:]
            item.add_report_section("call", f"log {log.name}", "\n".join(lines))
