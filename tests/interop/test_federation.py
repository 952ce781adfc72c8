"""OS-FEDERATION identity providers, protocols and service providers through the real
`openstack` CLI, and a mixed fleet where Python Keystone 30.0.0 and keystone-rs serve one
shared database: the bodies each answers for the same resources are the same text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import clients
import servers

OPENSTACK = str(Path(sys.executable).parent / "openstack")


@pytest.fixture
def openstack(os_env, tmp_path):
    """`openstack ARGS [-f json]`: parsed output, or the failure with the CLI's stderr."""

    def run(*args: str, output_json: bool = True):
        cmd = [OPENSTACK, *args, *(["-f", "json"] if output_json else [])]
        result = subprocess.run(cmd, env=os_env, cwd=tmp_path, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, (
            f"{' '.join(args)} exited {result.returncode}\nstdout: {result.stdout}\n"
            f"stderr: {result.stderr}")
        return json.loads(result.stdout) if output_json else result.stdout

    return run


def test_identity_and_service_providers_with_the_cli(openstack, keystone, tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"local": [{"user": {"name": "{0}"}}],
                                  "remote": [{"type": "REMOTE_USER"}]}]))
    openstack("mapping", "create", "--rules", str(rules), "cli-mapping")

    idp = openstack("identity", "provider", "create", "--remote-id", "https://idp.example/b",
                    "--remote-id", "https://idp.example/a", "--description", "cli idp",
                    "--domain", servers.DOMAIN_ID, "cli-idp")
    assert idp["id"] == "cli-idp"
    assert idp["domain_id"] == servers.DOMAIN_ID
    assert idp["enabled"] is True  # the CLI enables unless --disable
    shown = openstack("identity", "provider", "show", "cli-idp")
    assert shown["remote_ids"] in (["https://idp.example/a", "https://idp.example/b"],
                                   "https://idp.example/a, https://idp.example/b")
    assert "cli-idp" in {i["ID"] for i in openstack("identity", "provider", "list")}
    openstack("identity", "provider", "set", "--description", "edited", "--disable",
              "cli-idp", output_json=False)
    shown = openstack("identity", "provider", "show", "cli-idp")
    assert (shown["description"], shown["enabled"]) == ("edited", False)

    protocol = openstack("federation", "protocol", "create", "--identity-provider", "cli-idp",
                         "--mapping", "cli-mapping", "saml2")
    assert protocol["mapping"] == "cli-mapping"
    listed = openstack("federation", "protocol", "list", "--identity-provider", "cli-idp")
    assert [p["id"] for p in listed] == ["saml2"]

    sp = openstack("service", "provider", "create", "--auth-url", "https://sp.example/v3/auth",
                   "--service-provider-url", "https://sp.example/Shibboleth.sso/SAML2/ECP",
                   "cli-sp")
    assert sp["relay_state_prefix"] == "ss:mem:"
    assert "cli-sp" in {s["ID"] for s in openstack("service", "provider", "list")}
    openstack("service", "provider", "delete", "cli-sp", output_json=False)

    openstack("identity", "provider", "delete", "cli-idp", output_json=False)
    assert "cli-idp" not in {i["ID"] for i in openstack("identity", "provider", "list")}


# ---- mixed fleet on one database ---------------------------------------------------------


@pytest.fixture(scope="module")
def shared_fleet(tmp_path_factory):
    """Python Keystone makes the deployment; keystone-rs serves the same SQLite file with the
    same keys (validation cache off: Python's writes move no change marker)."""
    if os.environ.get("INTEROP_SKIP_MIXED") == "1":
        pytest.skip("INTEROP_SKIP_MIXED=1")
    python = servers.PythonKeystone(servers.peer_venv(), tmp_path_factory.mktemp("py-fed"))
    python.prepare()
    rs = servers.KeystoneRs(servers.keystone_rs_binary(), tmp_path_factory.mktemp("rs-fed"),
                            connection=f"sqlite:///{python.db_path}",
                            key_repository=python.key_repository,
                            extra_conf="[validation_cache]\nenabled = false\n")
    rs.write_config()
    rs.manage("db_sync")
    try:
        python.start()
        rs.start()
        yield python, rs
    finally:
        rs.stop()
        python.stop()


def api(server, method: str, path: str, body: dict | None = None) -> requests.Response:
    token, _ = clients.issue_token(server.base_url + "/v3", "project")
    return requests.request(method, f"{server.base_url}/v3{path}", json=body,
                            headers={"X-Auth-Token": token}, timeout=30)


def masked(server, text: str) -> str:
    return text.replace(server.base_url, "BASE")


def same_text(python, rs, method: str, path: str, body: dict | None = None) -> str:
    """Both servers' answers to the same request: equal status and equal body text (with
    the base URL masked)."""
    a = api(python, method, path, body)
    b = api(rs, method, path, body)
    ta, tb = masked(python, a.text), masked(rs, b.text)
    assert (a.status_code, ta) == (b.status_code, tb), \
        f"{method} {path}\npython:      {a.status_code} {ta}\nkeystone-rs: {b.status_code} {tb}"
    return ta


@pytest.mark.skipif(os.environ.get("INTEROP_SKIP_MIXED") == "1", reason="INTEROP_SKIP_MIXED=1")
def test_federation_bodies_are_the_same_on_both(shared_fleet):
    python, rs = shared_fleet
    rules = [{"local": [{"user": {"name": "{0}"}}], "remote": [{"type": "REMOTE_USER"}]}]
    assert api(python, "PUT", "/OS-FEDERATION/mappings/mx", {"mapping": {"rules": rules}}) \
        .status_code == 201
    idp = {"identity_provider": {"domain_id": "default", "description": "d", "enabled": True,
                                 "remote_ids": ["https://x/2", "https://x/1"],
                                 "authorization_ttl": 5}}
    # Each creates its own IdP from the same body (remote ids are unique across IdPs): the
    # same text but for the id and remote ids.
    a = api(python, "PUT", "/OS-FEDERATION/identity_providers/idp-py", idp)
    idp_rs = json.loads(json.dumps(idp))
    idp_rs["identity_provider"]["remote_ids"] = ["https://y/2", "https://y/1"]
    b = api(rs, "PUT", "/OS-FEDERATION/identity_providers/idp-rs", idp_rs)
    assert (a.status_code, b.status_code) == (201, 201), (a.text, b.text)
    assert masked(python, a.text) == masked(rs, b.text).replace("idp-rs", "idp-py") \
        .replace("https://y/", "https://x/"), (a.text, b.text)
    for idp_id in ("idp-py", "idp-rs"):
        same_text(python, rs, "GET", f"/OS-FEDERATION/identity_providers/{idp_id}")
    r = api(python, "PUT", "/OS-FEDERATION/identity_providers/idp-py/protocols/p1",
            {"protocol": {"mapping_id": "mx", "remote_id_attribute": "r"}})
    s = api(rs, "PUT", "/OS-FEDERATION/identity_providers/idp-rs/protocols/p1",
            {"protocol": {"mapping_id": "mx", "remote_id_attribute": "r"}})
    assert (r.status_code, masked(python, r.text)) == \
        (s.status_code, masked(rs, s.text).replace("idp-rs", "idp-py")), (r.text, s.text)
    for idp_id in ("idp-py", "idp-rs"):
        same_text(python, rs, "GET", f"/OS-FEDERATION/identity_providers/{idp_id}/protocols")
        same_text(python, rs, "GET", f"/OS-FEDERATION/identity_providers/{idp_id}/protocols/p1")
    same_text(python, rs, "GET", "/OS-FEDERATION/identity_providers")
    same_text(python, rs, "GET", "/OS-FEDERATION/identity_providers?enabled=true")
    # Errors: 404s, schema 400s, a protocol for a missing mapping.
    for method, path, body in [
        ("GET", "/OS-FEDERATION/identity_providers/nope", None),
        ("GET", "/OS-FEDERATION/identity_providers/idp-py/protocols/nope", None),
        ("GET", "/OS-FEDERATION/service_providers/nope", None),
        ("PUT", "/OS-FEDERATION/identity_providers/bad", {"identity_provider": {"x": 1}}),
        ("PUT", "/OS-FEDERATION/identity_providers/bad",
         {"identity_provider": {"remote_ids": ["a", "a"]}}),
        ("PATCH", "/OS-FEDERATION/identity_providers/idp-py", {"identity_provider": {}}),
        ("PUT", "/OS-FEDERATION/identity_providers/idp-py/protocols/p2",
         {"protocol": {"mapping_id": "nomap"}}),
        ("PUT", "/OS-FEDERATION/identity_providers/idp-py/protocols/p1",
         {"protocol": {"mapping_id": "mx"}}),
        ("PUT", "/OS-FEDERATION/service_providers/bad", {"service_provider": {"auth_url": "x"}}),
    ]:
        same_text(python, rs, method, path, body)

    sp = {"service_provider": {"auth_url": "https://sp/v3", "sp_url": "https://sp/ecp"}}
    a = api(python, "PUT", "/OS-FEDERATION/service_providers/sp-py", sp)
    b = api(rs, "PUT", "/OS-FEDERATION/service_providers/sp-rs", sp)
    assert (a.status_code, masked(python, a.text)) == \
        (b.status_code, masked(rs, b.text).replace("sp-rs", "sp-py")), (a.text, b.text)
    same_text(python, rs, "GET", "/OS-FEDERATION/service_providers")
    same_text(python, rs, "PUT", "/OS-FEDERATION/service_providers/sp-py", sp)
    for sp_id in ("sp-py", "sp-rs"):
        same_text(python, rs, "GET", f"/OS-FEDERATION/service_providers/{sp_id}")

    # Deleting on one is seen by the other.
    assert api(rs, "DELETE", "/OS-FEDERATION/identity_providers/idp-py").status_code == 204
    assert api(python, "DELETE", "/OS-FEDERATION/identity_providers/idp-rs").status_code == 204
    same_text(python, rs, "GET", "/OS-FEDERATION/identity_providers")
    same_text(python, rs, "GET", "/OS-FEDERATION/identity_providers/idp-py/protocols")
