"""The Keystone under test, for every interop test.

KEYSTONE_URL=http://host:port   use a server that is already running (bootstrapped with
                                admin/secretadmin, project admin, domain default, and its
                                identity endpoints at KEYSTONE_URL/v3);
otherwise                       start keystone-rs (KEYSTONE_RS_BIN, default
                                target/debug/keystone-rs) on a fresh SQLite database in a temp
                                dir, or on a scratch database on the server that
                                KEYSTONE_TEST_DATABASE_URL names (PostgreSQL/MariaDB);
                                with INTEROP_TOKEN_PROVIDER=jws it issues JWS tokens.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

import servers


@dataclass(frozen=True)
class Target:
    base_url: str
    # True when this session made the deployment, so its catalog is exactly bootstrap's.
    started_here: bool

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}/v3"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "mixed_fleet: Python Keystone and keystone-rs sharing keys and data "
        "(skipped only with INTEROP_SKIP_MIXED=1)")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """On failure, the end of every server log: the cause is often only there."""
    if exitstatus == 0:
        return
    for log_dir in dict.fromkeys(servers.STARTED_LOG_DIRS):
        for log in sorted(log_dir.glob("*.log")):
            terminalreporter.section(f"tail of {log}")
            terminalreporter.write(servers.tail(log, 30))


@pytest.fixture(scope="session")
def keystone(tmp_path_factory) -> Target:
    url = os.environ.get("KEYSTONE_URL")
    if url:
        url = url.rstrip("/")
        url = url[: -len("/v3")] if url.endswith("/v3") else url
        yield Target(base_url=url, started_here=False)
        return

    db = servers.ScratchDatabase.from_env()
    if db:
        db.create()
    workdir = tmp_path_factory.mktemp("keystone-rs")
    # INTEROP_TOKEN_PROVIDER=jws: the same tests on JWS tokens ([token] provider = jws).
    extra_conf = (servers.jws_deployment(workdir)
                  if os.environ.get("INTEROP_TOKEN_PROVIDER") == "jws" else "")
    server = servers.KeystoneRs(servers.keystone_rs_binary(), workdir,
                                connection=db.url if db else None, extra_conf=extra_conf)
    try:
        server.prepare()
        server.start()
        yield Target(base_url=server.base_url, started_here=True)
    finally:
        server.stop()
        if db:
            db.drop()


@pytest.fixture
def os_env(keystone) -> dict:
    """A process environment for the `openstack` CLI as the bootstrap admin: only our
    OS_* variables, none inherited from whoever runs the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update({
        "OS_AUTH_URL": keystone.auth_url,
        "OS_IDENTITY_API_VERSION": "3",
        "OS_AUTH_TYPE": "password",
        "OS_USERNAME": servers.ADMIN_USER,
        "OS_PASSWORD": servers.ADMIN_PASSWORD,
        "OS_PROJECT_NAME": servers.ADMIN_PROJECT,
        "OS_USER_DOMAIN_ID": servers.DOMAIN_ID,
        "OS_PROJECT_DOMAIN_ID": servers.DOMAIN_ID,
        "OS_REGION_NAME": servers.REGION,
        "OS_INTERFACE": "public",
    })
    return env
