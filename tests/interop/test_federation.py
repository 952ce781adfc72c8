"""OS-FEDERATION identity providers, protocols and service providers through the real
`openstack` CLI, and a mixed fleet where Python Keystone 30.0.0 and keystone-rs serve one
shared database: the bodies each answers for the same resources are the same text; and
federated login from request headers on both nodes (Python Keystone reading them from the
WSGI environ), with shadow users, tokens, OS-FEDERATION listings and rescoping identical
on the other node."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
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
    with servers.mixed_fleet(tmp_path_factory.mktemp("py-fed"),
                             tmp_path_factory.mktemp("rs-fed"),
                             rs_conf=servers.NO_VALIDATION_CACHE) as fleet:
        yield fleet


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


# ---- federated login on both, one database ----------------------------------------------

# One [federation] section for both: Python Keystone reads the assertion from the WSGI
# environ, where gunicorn puts the request headers as HTTP_*; keystone-rs, given a prefix
# in that form, names the trusted front end's headers the same way (trusted_proxies is
# keystone-rs's own option; Python Keystone ignores it).
HEADER_FEDERATION_CONF = ("[federation]\nassertion_prefix = HTTP_X_FED_\n"
                          "trusted_proxies = 127.0.0.1\n")
HDR_ISSUER = "https://idp.example/hdr"


@pytest.fixture(scope="module")
def header_fleet(tmp_path_factory):
    """Python Keystone and keystone-rs on one SQLite database and key repository, both
    taking federated assertions from request headers."""
    if os.environ.get("INTEROP_SKIP_MIXED") == "1":
        pytest.skip("INTEROP_SKIP_MIXED=1")
    with servers.mixed_fleet(tmp_path_factory.mktemp("py-hdr"),
                             tmp_path_factory.mktemp("rs-hdr"),
                             python_conf=HEADER_FEDERATION_CONF,
                             rs_conf=servers.NO_VALIDATION_CACHE + HEADER_FEDERATION_CONF) as fleet:
        yield fleet


def fed_headers(user: str, issuer: str = HDR_ISSUER) -> dict:
    return {"X-Fed-User": user, "X-Fed-Email": f"{user}@example.org",
            "X-Fed-Groups": "fedgrp;nosuchgroup", "X-Fed-Issuer": issuer}


def fed_login(server, user: str, issuer: str = HDR_ISSUER) -> requests.Response:
    return requests.post(
        f"{server.base_url}/v3/OS-FEDERATION/identity_providers/hdr/protocols/mapped/auth",
        headers=fed_headers(user, issuer), timeout=30)


def with_token(server, token: str, method: str, path: str, body: dict | None = None):
    return requests.request(method, f"{server.base_url}/v3{path}", json=body, timeout=30,
                            headers={"X-Auth-Token": token})


def validation(server, token: str) -> dict:
    admin, _ = clients.issue_token(server.base_url + "/v3", "project")
    r = clients.validate_token(server.base_url + "/v3", admin, token)
    assert r.status_code == 200, f"{type(server).__name__}: {r.status_code} {r.text}"
    return token_shape(r.json())


def token_shape(body: dict, **renames: str) -> dict:
    """The token JSON in a fixed order (catalog, roles), and with what two logins cannot
    share — times, audit ids, and each `renames` key (a user's id, name) — made generic."""
    token = json.loads(json.dumps(body))["token"]
    for service in token.get("catalog", []):
        service["endpoints"].sort(key=lambda e: e["id"])
    token.get("catalog", []).sort(key=lambda s: s["id"])
    token.get("roles", []).sort(key=lambda r: r["id"])
    for key in ("issued_at", "expires_at", "audit_ids"):
        token[key] = type(token[key]).__name__
    text = json.dumps(token, sort_keys=True)
    for old, new in renames.items():
        text = text.replace(old, new)
    return json.loads(text)


@pytest.mark.skipif(os.environ.get("INTEROP_SKIP_MIXED") == "1", reason="INTEROP_SKIP_MIXED=1")
def test_federated_logins_are_the_same_on_both(header_fleet):
    """Identity provider, protocol and mapping made half on each node; federated users
    logged in from headers on each; their shadow users, tokens, OS-FEDERATION listings and
    rescoped tokens read the same on the other node."""
    python, rs = header_fleet
    r = api(python, "POST", "/domains", {"domain": {"name": "feddom"}})
    assert r.status_code == 201, r.text
    domain_id = r.json()["domain"]["id"]
    r = api(rs, "POST", "/groups", {"group": {"name": "fedgrp", "domain_id": "default"}})
    assert r.status_code == 201, r.text
    group_id = r.json()["group"]["id"]
    r = api(python, "POST", "/projects", {"project": {"name": "fedproj", "domain_id": "default"}})
    assert r.status_code == 201, r.text
    project_id = r.json()["project"]["id"]
    role_id = api(rs, "GET", "/roles?name=member").json()["roles"][0]["id"]
    assert api(rs, "PUT", f"/projects/{project_id}/groups/{group_id}/roles/{role_id}") \
        .status_code == 204
    rules = [{"local": [{"user": {"name": "{0}", "email": "{1}"}},
                        {"groups": "{2}", "domain": {"id": "default"}}],
              "remote": [{"type": "HTTP_X_FED_USER"}, {"type": "HTTP_X_FED_EMAIL"},
                         {"type": "HTTP_X_FED_GROUPS"}]}]
    assert api(python, "PUT", "/OS-FEDERATION/mappings/hdrmap",
               {"mapping": {"rules": rules}}).status_code == 201
    r = api(rs, "PUT", "/OS-FEDERATION/identity_providers/hdr",
            {"identity_provider": {"domain_id": domain_id, "enabled": True,
                                   "remote_ids": [HDR_ISSUER]}})
    assert r.status_code == 201, r.text
    r = api(python, "PUT", "/OS-FEDERATION/identity_providers/hdr/protocols/mapped",
            {"protocol": {"mapping_id": "hdrmap", "remote_id_attribute": "HTTP_X_FED_ISSUER"}})
    assert r.status_code == 201, r.text
    for path in ("/OS-FEDERATION/identity_providers/hdr",
                 "/OS-FEDERATION/identity_providers/hdr/protocols/mapped",
                 "/OS-FEDERATION/mappings/hdrmap"):
        same_text(python, rs, "GET", path)

    # An assertion from an issuer the IdP does not list: the same refusal on both.
    a, b = fed_login(python, "mallory", "https://evil.example"), fed_login(rs, "mallory",
                                                                            "https://evil.example")
    assert (a.status_code, a.json()) == (b.status_code, b.json()) and a.status_code == 403

    # One user logged in by each node, and one by both (the same shadow user).
    logins = {}
    for server, user in ((python, "py-user"), (rs, "rs-user"), (python, "both-user"),
                         (rs, "both-user")):
        r = fed_login(server, user)
        assert r.status_code == 201, f"{type(server).__name__} {user}: {r.text}"
        logins.setdefault(user, []).append((server, r))
    ids = {user: [r.json()["token"]["user"]["id"] for _, r in rs_]
           for user, rs_ in logins.items()}
    assert ids["both-user"][0] == ids["both-user"][1]
    for user in ("py-user", "rs-user", "both-user"):
        assert ids[user][0] == hashlib.sha256(f"{domain_id}user{user}".encode()).hexdigest()
    with sqlite3.connect(python.db_path) as db:
        for user, (uid, *_) in ids.items():
            assert db.execute("SELECT count(*) FROM user WHERE id = ?", (uid,)).fetchone() \
                == (1,), user
            assert db.execute("SELECT idp_id, protocol_id, unique_id, display_name FROM "
                              "federated_user WHERE user_id = ?", (uid,)).fetchall() \
                == [("hdr", "mapped", user, user)], user

    # What each node answered at login, the other user's name and id aside, is the same.
    (_, py_login), = logins["py-user"]
    (_, rs_login), = logins["rs-user"]
    assert token_shape(py_login.json(), **{ids["py-user"][0]: "UID", "py-user": "NAME"}) == \
        token_shape(rs_login.json(), **{ids["rs-user"][0]: "UID", "rs-user": "NAME"})
    assert py_login.json()["token"]["user"]["OS-FEDERATION"]["groups"] == [{"id": group_id}]

    # Each token validates on both nodes with the same body; each shadow user reads the same.
    tokens = {user: r.headers["X-Subject-Token"] for user, ((_, r), *_) in logins.items()}
    for user, token in tokens.items():
        assert validation(python, token) == validation(rs, token), user
        same_text(python, rs, "GET", f"/users/{ids[user][0]}")
    same_text(python, rs, "GET", f"/users?domain_id={domain_id}")

    # What the federated tokens may scope to, asked of either node.
    for token in (tokens["py-user"], tokens["rs-user"]):
        for path in ("/OS-FEDERATION/projects", "/OS-FEDERATION/domains", "/auth/projects",
                     "/auth/domains"):
            a, b = with_token(python, token, "GET", path), with_token(rs, token, "GET", path)
            assert (a.status_code, masked(python, a.text)) == \
                (b.status_code, masked(rs, b.text)), f"{path}\n{a.text}\n{b.text}"
            assert a.status_code == 200, a.text
        assert [p["id"] for p in with_token(rs, token, "GET", "/OS-FEDERATION/projects")
                .json()["projects"]] == [project_id]

    # Rescoping: each node's federated token rescoped on the other, validated on both.
    rescoped = {}
    for user, issuer_node, rescoping_node in (("py-user", python, rs), ("rs-user", rs, python)):
        r = requests.post(f"{rescoping_node.base_url}/v3/auth/tokens", timeout=30, json={
            "auth": {"identity": {"methods": ["token"], "token": {"id": tokens[user]}},
                     "scope": {"project": {"id": project_id}}}})
        assert r.status_code == 201, f"{user} on {type(rescoping_node).__name__}: {r.text}"
        body = r.json()["token"]
        assert body["project"]["id"] == project_id
        assert "member" in [role["name"] for role in body["roles"]]
        token = r.headers["X-Subject-Token"]
        assert validation(python, token) == validation(rs, token), user
        rescoped[user] = token_shape(r.json(), **{ids[user][0]: "UID", user: "NAME"})
        # Python Keystone answers a rescope's methods in set order (list(set(...)), which
        # varies with the process's hash seed); validation gives them in one order.
        rescoped[user]["methods"].sort()
    assert rescoped["py-user"] == rescoped["rs-user"]
