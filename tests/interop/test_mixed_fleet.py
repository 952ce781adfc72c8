"""Mixed fleet: upstream Python Keystone 30.0.0 and keystone-rs side by side, as during a
migration. Python Keystone makes the deployment (db_sync, fernet_setup, bootstrap);
keystone-rs adopts a copy of that database and the same Fernet key repository. Each must
accept the other's tokens and describe them identically.

Needs the peer venv (setup_venv.sh) and the keystone-rs binary; it ignores KEYSTONE_URL
and KEYSTONE_TEST_DATABASE_URL (the adopted database is SQLite). Skip it only with
INTEROP_SKIP_MIXED=1.
"""

from __future__ import annotations

import copy
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import clients
import servers

pytestmark = [
    pytest.mark.mixed_fleet,
    pytest.mark.skipif(os.environ.get("INTEROP_SKIP_MIXED") == "1",
                       reason="INTEROP_SKIP_MIXED=1"),
]

TOKEN_SCOPES = ["project", "system", "unscoped"]


def schema_objects(db: Path, tables: set[str] | None = None) -> set[tuple]:
    """sqlite_master's rows (type, name, table, SQL), limited to `tables` if given."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    return {row for row in rows if tables is None or row[2] in tables}


def table_contents(db: Path, tables: set[str]) -> dict[str, list[tuple]]:
    with sqlite3.connect(db) as conn:
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in sorted(tables)}


@dataclass
class Fleet:
    python: servers.PythonKeystone
    adopted_dir: Path
    adopted_db: Path
    rs: servers.KeystoneRs | None = None
    # Keystone's tables, and sqlite_master / contents before and after keystone-rs db_sync
    keystone_tables: set[str] = field(default_factory=set)
    schema_before: set[tuple] = field(default_factory=set)
    schema_after: set[tuple] = field(default_factory=set)
    contents_before: dict = field(default_factory=dict)
    contents_after: dict = field(default_factory=dict)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    python = servers.PythonKeystone(servers.peer_venv(),
                                    tmp_path_factory.mktemp("python-keystone"))
    python.prepare()
    # keystone-rs adopts a snapshot of the freshly bootstrapped database
    adopted_dir = tmp_path_factory.mktemp("keystone-rs-adopted")
    adopted_db = adopted_dir / "keystone.db"
    with sqlite3.connect(python.db_path) as src, sqlite3.connect(adopted_db) as dst:
        src.backup(dst)
    fleet = Fleet(python=python, adopted_dir=adopted_dir, adopted_db=adopted_db)
    fleet.keystone_tables = {name for kind, name, _, _ in schema_objects(adopted_db)
                             if kind == "table"}
    fleet.schema_before = schema_objects(adopted_db)
    fleet.contents_before = table_contents(adopted_db, fleet.keystone_tables)
    try:
        python.start()
        yield fleet
    finally:
        python.stop()
        if fleet.rs:
            fleet.rs.stop()


@pytest.fixture(scope="module")
def python_keystone(fleet) -> servers.PythonKeystone:
    return fleet.python


@pytest.fixture(scope="module")
def keystone_rs(fleet) -> servers.KeystoneRs:
    """keystone-rs on the adopted copy with Python's key repository. db_sync runs anyway, as
    an operator following our README would run it: it must recognise Keystone's schema."""
    rs = servers.KeystoneRs(servers.keystone_rs_binary(), fleet.adopted_dir,
                            connection=f"sqlite:///{fleet.adopted_db}",
                            key_repository=fleet.python.key_repository)
    rs.write_config()
    rs.manage("db_sync")
    fleet.schema_after = schema_objects(fleet.adopted_db, fleet.keystone_tables)
    fleet.contents_after = table_contents(fleet.adopted_db, fleet.keystone_tables)
    fleet.rs = rs
    rs.start()
    return rs


def normalised(body: dict) -> dict:
    """The token JSON with its unordered lists in a fixed order: the catalog (services and
    their endpoints) and the roles come out of SQL/set iteration in no defined order."""
    body = copy.deepcopy(body)
    token = body["token"]
    for service in token.get("catalog", []):
        service["endpoints"].sort(key=lambda e: e["id"])
    token.get("catalog", []).sort(key=lambda s: s["id"])
    token.get("roles", []).sort(key=lambda r: r["id"])
    return body


def validated_by(server, token: str) -> tuple[dict, str]:
    resp = clients.validate_token(server.base_url + "/v3", token, token)
    assert resp.status_code == 200, (
        f"{type(server).__name__} rejected the token: {resp.status_code} {resp.text}")
    return normalised(resp.json()), resp.headers.get("X-Subject-Token")


def test_python_keystone_serves_its_own_tokens(python_keystone):
    """The Python half alone: the reference deployment works as the peer does."""
    token, issued = clients.issue_token(python_keystone.base_url + "/v3", "project")
    body, subject = validated_by(python_keystone, token)
    assert subject == token
    assert body == normalised(issued)
    assert body["token"]["project"]["name"] == servers.ADMIN_PROJECT


def test_db_sync_leaves_keystone_schema_alone(fleet, keystone_rs):
    assert "alembic_version" in fleet.keystone_tables
    assert fleet.schema_after == fleet.schema_before, (
        "keystone-rs db_sync altered Keystone's schema:\n"
        f"removed: {sorted(fleet.schema_before - fleet.schema_after)}\n"
        f"added on Keystone tables: {sorted(fleet.schema_after - fleet.schema_before)}")
    changed = [t for t in fleet.keystone_tables
               if fleet.contents_after[t] != fleet.contents_before[t]]
    assert not changed, f"keystone-rs db_sync changed rows of Keystone tables: {changed}"


@pytest.mark.parametrize("scope", TOKEN_SCOPES)
def test_python_token_validates_on_keystone_rs(python_keystone, keystone_rs, scope):
    token, _ = clients.issue_token(python_keystone.base_url + "/v3", scope)
    on_python, _ = validated_by(python_keystone, token)
    on_rs, subject = validated_by(keystone_rs, token)
    assert subject == token
    assert on_rs == on_python


@pytest.mark.parametrize("scope", TOKEN_SCOPES)
def test_keystone_rs_token_validates_on_python(python_keystone, keystone_rs, scope):
    token, _ = clients.issue_token(keystone_rs.base_url + "/v3", scope)
    on_rs, _ = validated_by(keystone_rs, token)
    on_python, subject = validated_by(python_keystone, token)
    assert subject == token
    assert on_python == on_rs
