"""OAuth2 mTLS (RFC 8705) against keystone-rs serving TLS itself: `tls_client_auth` at the
token endpoint with python-requests' client certificate, the certificate-bound token checked
by keystonemiddleware's `oauth2_mtls_token` filter (Keystone's PEM thumbprint), and
keystone-rs as the external server of `external_oauth2_token` with `tls_client_auth`
introspection and `thumbprint_verify` (RFC 8705 `cnf`, over the DER).

A TLS deployment of its own is started for this module (a CA, the server's and the clients'
certificates are made here), whatever KEYSTONE_URL says.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import os
import sqlite3
import ssl
import uuid
from pathlib import Path

import pytest
import requests
import webtest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from keystonemiddleware import external_oauth2_token, oauth2_mtls_token

import clients
import servers
from test_oauth2 import echo_identity

ROOT_CN = "Interop Root CA"
# The first rule applies only to certificates with an OU and an e-mail address (the name
# test below); the others map CN and DC.
MAPPING = {"rules": [{
    "local": [{"user": {"name": "{0}", "email": "{1}"}}],
    "remote": [{"type": "SSL_CLIENT_SUBJECT_DN_OU"},
               {"type": "SSL_CLIENT_SUBJECT_DN_EMAILADDRESS"}]}, {
    "local": [{"user": {"name": "{0}", "domain": {"id": "{1}"}}}],
    "remote": [{"type": "SSL_CLIENT_SUBJECT_DN_CN"},
               {"type": "SSL_CLIENT_SUBJECT_DN_DC"},
               {"type": "SSL_CLIENT_ISSUER_DN_CN", "any_one_of": [ROOT_CN]}]}]}


class Pki:
    """A CA and the certificates it signs, written to `directory`."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ROOT_CN)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                     .add_extension(x509.KeyUsage(True, False, False, False, False, True, True,
                                                  False, False), True)
                     .sign(self.key, hashes.SHA256()))
        self.ca_file = self.write("ca.pem", self.cert.public_bytes(serialization.Encoding.PEM))

    def write(self, name: str, data: bytes) -> Path:
        path = self.dir / name
        path.write_bytes(data)
        return path

    def issue(self, stem: str, attributes: list[tuple], server: bool = False):
        """(certificate file, key file, DER) of a leaf with this subject."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(o, v) for o, v in attributes]))
                   .issuer_name(self.cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1)))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            usage = ExtendedKeyUsageOID.SERVER_AUTH
        else:
            usage = ExtendedKeyUsageOID.CLIENT_AUTH
        cert = (builder.add_extension(x509.ExtendedKeyUsage([usage]), False)
                .sign(self.key, hashes.SHA256()))
        cert_file = self.write(f"{stem}.pem", cert.public_bytes(serialization.Encoding.PEM))
        key_file = self.write(f"{stem}.key", key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        return cert_file, key_file, cert.public_bytes(serialization.Encoding.DER)


class Deployment:
    def __init__(self, server: servers.KeystoneRs, pki: Pki):
        self.server, self.pki = server, pki
        self.base_url = server.base_url
        self.auth_url = f"{server.base_url}/v3"
        self.ca = str(pki.ca_file)

    def admin_token(self) -> str:
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": servers.ADMIN_USER, "domain": {"id": servers.DOMAIN_ID},
            "password": servers.ADMIN_PASSWORD}}},
            "scope": {"project": {"name": servers.ADMIN_PROJECT,
                                  "domain": {"id": servers.DOMAIN_ID}}}}}
        resp = requests.post(f"{self.auth_url}/auth/tokens", json=body, verify=self.ca,
                             timeout=30)
        assert resp.status_code == 201, resp.text
        return resp.headers["X-Subject-Token"]

    def admin(self, method: str, path: str, headers: dict | None = None,
              **kwargs) -> requests.Response:
        headers = {"X-Auth-Token": self.admin_token(), **(headers or {})}
        return requests.request(method, f"{self.auth_url}{path}", verify=self.ca, timeout=30,
                                headers=headers, **kwargs)

    def user(self, name: str, project_id: str | None = None, role: str | None = None,
             **extra) -> str:
        body = {"name": name, "domain_id": servers.DOMAIN_ID, "password": uuid.uuid4().hex,
                **extra}
        if project_id:
            body["default_project_id"] = project_id
        resp = self.admin("POST", "/users", json={"user": body})
        assert resp.status_code == 201, resp.text
        user_id = resp.json()["user"]["id"]
        if role:
            role_id = self.admin("GET", f"/roles?name={role}").json()["roles"][0]["id"]
            resp = self.admin("PUT", f"/projects/{project_id}/users/{user_id}/roles/{role_id}")
            assert resp.status_code == 204, resp.text
        return user_id


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("keystone-rs-tls")
    pki = Pki(tmp_path_factory.mktemp("pki"))
    cert, key, _ = pki.issue("server", [(NameOID.COMMON_NAME, "127.0.0.1")], server=True)
    extra = f"[ssl]\ncertfile = {cert}\nkeyfile = {key}\nca_certs = {pki.ca_file}\n"
    db = servers.ScratchDatabase.from_env()
    if db:
        db.create()
    server = servers.KeystoneRs(servers.keystone_rs_binary(), workdir,
                                connection=db.url if db else None,
                                extra_conf=extra, ca_file=pki.ca_file)
    try:
        server.prepare()
        server.start()
        yield Deployment(server, pki)
    finally:
        server.stop()
        if db:
            db.drop()


@pytest.fixture(scope="module")
def setup(tls):
    """An application user with a default project (member there), a service user, both
    with certificates whose CN is their name and DC their domain id; the DN mapping."""
    resp = tls.admin("POST", "/projects", json={"project": {
        "name": f"mtls-{uuid.uuid4().hex[:8]}", "domain_id": servers.DOMAIN_ID}})
    assert resp.status_code == 201, resp.text
    project_id = resp.json()["project"]["id"]
    app_id = tls.user("mtls-app", project_id, "member")
    svc_id = tls.user("mtls-svc")
    resp = tls.admin("PUT", "/OS-FEDERATION/mappings/oauth2_mapping",
                     json={"mapping": MAPPING})
    assert resp.status_code == 201, resp.text

    def subject(name):
        return [(NameOID.DOMAIN_COMPONENT, servers.DOMAIN_ID), (NameOID.COMMON_NAME, name),
                (NameOID.ORGANIZATION_NAME, "Example, Inc.")]
    return {
        "project_id": project_id, "app_id": app_id, "svc_id": svc_id,
        "app": tls.pki.issue("app", subject("mtls-app")),
        "app2": tls.pki.issue("app2", subject("mtls-app")),
        "svc": tls.pki.issue("svc", subject("mtls-svc")),
    }


def bound_token(tls, setup) -> str:
    cert, key, _ = setup["app"]
    resp = requests.post(f"{tls.auth_url}/OS-OAUTH2/token",
                         data={"grant_type": "client_credentials",
                               "client_id": setup["app_id"]},
                         cert=(str(cert), str(key)), verify=tls.ca, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json()["token_type"] == "Bearer"
    return resp.json()["access_token"]


def test_token_carries_keystones_thumbprint(tls, setup):
    token = bound_token(tls, setup)
    resp = tls.admin("GET", "/auth/tokens", headers={"X-Subject-Token": token})
    assert resp.status_code == 200, resp.text
    body = resp.json()["token"]
    pem = ssl.DER_cert_to_PEM_cert(setup["app"][2])
    expected = base64.urlsafe_b64encode(hashlib.sha256(pem.encode("ascii")).digest()).decode()
    assert body["oauth2_credential"] == {"x5t#S256": expected}
    assert body["methods"] == []
    assert body["project"]["id"] == setup["project_id"]
    assert body["user"]["id"] == setup["app_id"]


def test_basic_or_no_certificate_is_not_tls_client_auth(tls, setup):
    resp = requests.post(f"{tls.auth_url}/OS-OAUTH2/token",
                         data={"grant_type": "client_credentials",
                               "client_id": setup["app_id"]}, verify=tls.ca, timeout=30)
    assert resp.status_code == 401, resp.text
    assert resp.json() == {"error": "invalid_client",
                           "error_description": "Client authentication failed."}


class PeerSocket:
    """What eventlet's `wsgi.input.get_socket()` gives oauth2_mtls_token: the TLS socket."""

    def __init__(self, der: bytes | None):
        self.der = der

    def getpeercert(self, binary_form=False):
        return self.der


class SocketInput:
    def __init__(self, inner, der: bytes | None):
        self.inner, self.sock = inner, PeerSocket(der)

    def read(self, *a):
        return self.inner.read(*a)

    def readline(self, *a):
        return self.inner.readline(*a)

    def get_socket(self):
        return self.sock


def mtls_filter_app(tls, peer_der: bytes | None) -> webtest.TestApp:
    conf = {
        "www_authenticate_uri": tls.auth_url,
        "auth_url": tls.auth_url,
        "auth_type": "password",
        "username": servers.ADMIN_USER,
        "password": servers.ADMIN_PASSWORD,
        "project_name": servers.ADMIN_PROJECT,
        "user_domain_id": servers.DOMAIN_ID,
        "project_domain_id": servers.DOMAIN_ID,
        "cafile": tls.ca,
        "delay_auth_decision": "false",
        "token_cache_time": "-1",
        "http_request_max_retries": "0",
    }
    protocol = oauth2_mtls_token.OAuth2mTlsProtocol(echo_identity, conf)

    def with_peer_certificate(environ, start_response):
        environ["wsgi.input"] = SocketInput(environ["wsgi.input"], peer_der)
        return protocol(environ, start_response)
    return webtest.TestApp(with_peer_certificate)


def test_oauth2_mtls_token_filter(tls, setup):
    token = bound_token(tls, setup)
    bearer = {"Authorization": f"Bearer {token}"}
    seen = mtls_filter_app(tls, setup["app"][2]).get("/", headers=bearer, status=200).json
    assert seen["HTTP_X_USER_ID"] == setup["app_id"]
    assert seen["HTTP_X_PROJECT_ID"] == setup["project_id"]
    assert "member" in seen["HTTP_X_ROLES"].split(",")
    # The same user's other certificate, no certificate, an unbound token: refused.
    mtls_filter_app(tls, setup["app2"][2]).get("/", headers=bearer, status=401)
    mtls_filter_app(tls, None).get("/", headers=bearer, status=401)
    unbound = {"Authorization": f"Bearer {tls.admin_token()}"}
    mtls_filter_app(tls, setup["app"][2]).get("/", headers=unbound, status=401)


def test_bound_token_over_tls_needs_its_certificate(tls, setup):
    """Beyond Keystone (api-ref/DEVIATIONS.md): keystone-rs checks the binding itself."""
    token = bound_token(tls, setup)
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    url = f"{tls.auth_url}/auth/tokens"
    app_cert, app_key, _ = setup["app"]
    other_cert, other_key, _ = setup["app2"]
    ok = requests.get(url, headers=headers, cert=(str(app_cert), str(app_key)),
                      verify=tls.ca, timeout=30)
    assert ok.status_code == 200, ok.text
    for cert in (None, (str(other_cert), str(other_key))):
        resp = requests.get(url, headers=headers, cert=cert, verify=tls.ca, timeout=30)
        assert resp.status_code == 401, resp.text


def external_filter(tls, setup) -> webtest.TestApp:
    svc_cert, svc_key, _ = setup["svc"]
    conf = {
        "introspect_endpoint": f"{tls.auth_url}/OS-OAUTH2/introspect",
        "audience": tls.base_url,
        "auth_method": "tls_client_auth",
        "client_id": setup["svc_id"],
        "certfile": str(svc_cert),
        "keyfile": str(svc_key),
        "cafile": tls.ca,
        "thumbprint_verify": "true",
        "mapping_project_id": "project.id",
        "mapping_project_name": "project.name",
        "mapping_project_domain_id": "project.domain.id",
        "mapping_project_domain_name": "project.domain.name",
        "mapping_user_id": "client_id",
        "mapping_user_name": "username",
        "mapping_user_domain_id": "user_domain.id",
        "mapping_user_domain_name": "user_domain.name",
        "mapping_roles": "roles",
        "mapping_expires_at": "exp",
        "token_cache_time": "-1",
    }
    return webtest.TestApp(external_oauth2_token.ExternalAuth2Protocol(echo_identity, conf))


def test_external_oauth2_token_filter_with_tls_client_auth(tls, setup):
    token = bound_token(tls, setup)
    app = external_filter(tls, setup)
    bearer = {"Authorization": f"Bearer {token}"}
    app_pem = ssl.DER_cert_to_PEM_cert(setup["app"][2])
    seen = app.get("/", headers=bearer, extra_environ={"SSL_CLIENT_CERT": app_pem},
                   status=200).json
    assert seen["HTTP_X_IDENTITY_STATUS"] == "Confirmed"
    assert seen["HTTP_X_USER_ID"] == setup["app_id"]
    assert seen["HTTP_X_USER_NAME"] == "mtls-app"
    assert seen["HTTP_X_PROJECT_ID"] == setup["project_id"]
    assert "member" in seen["HTTP_X_ROLES"].split(",")
    # thumbprint_verify: another certificate, or none, does not match the token's `cnf`.
    other_pem = ssl.DER_cert_to_PEM_cert(setup["app2"][2])
    app.get("/", headers=bearer, extra_environ={"SSL_CLIENT_CERT": other_pem}, status=401)
    app.get("/", headers=bearer, status=401)


def test_introspection_refuses_a_certificate_of_another_user(tls, setup):
    """The service's certificate names mtls-svc: it cannot introspect as mtls-app."""
    svc_cert, svc_key, _ = setup["svc"]
    resp = requests.post(f"{tls.auth_url}/OS-OAUTH2/introspect",
                         data={"token": tls.admin_token(), "client_id": setup["app_id"]},
                         cert=(str(svc_cert), str(svc_key)), verify=tls.ca, timeout=30)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"] == "invalid_client"


def keystone_dn(der: bytes) -> dict:
    """Keystone's own reading of a certificate's subject (keystone.common.utils
    get_certificate_subject_dn): RFC 4514 strings split on '=', the last repeat winning."""
    dn = {}
    for item in x509.load_der_x509_certificate(der).subject:
        name, value = item.rfc4514_string().split("=")
        if item.oid == NameOID.EMAIL_ADDRESS:
            name = "emailAddress"
        dn[name] = value
    return dn


def test_names_are_read_as_keystone_reads_them(tls, setup):
    """RFC 4514 escaping, repeated attributes and emailAddress as Python cryptography and
    Keystone produce them: the user's name and e-mail are what Keystone's code makes of the
    certificate, and the mapping must reproduce them exactly."""
    cert, key, der = tls.pki.issue("probe", [
        (NameOID.COMMON_NAME, "ignored"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "first"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, '#Sales, R&D + "Ops" <x>'),
        (NameOID.EMAIL_ADDRESS, "svc+mtls@example.org"),
    ])
    dn = keystone_dn(der)
    # (no ';': Keystone's rule engine splits attribute values on it; no trailing blank:
    # user names are stripped)
    assert dn["OU"] == '\\#Sales\\, R&D \\+ \\"Ops\\" \\<x\\>'
    user_id = tls.user(dn["OU"], setup["project_id"], "member", email=dn["emailAddress"])
    resp = requests.post(f"{tls.auth_url}/OS-OAUTH2/token",
                         data={"grant_type": "client_credentials", "client_id": user_id},
                         cert=(str(cert), str(key)), verify=tls.ca, timeout=30)
    assert resp.status_code == 200, resp.text
    # With the other e-mail address the mapped e-mail no longer matches the user's.
    cert, key, _ = tls.pki.issue("probe2", [
        (NameOID.ORGANIZATIONAL_UNIT_NAME, '#Sales, R&D + "Ops" <x>'),
        (NameOID.EMAIL_ADDRESS, "other@example.org"),
    ])
    resp = requests.post(f"{tls.auth_url}/OS-OAUTH2/token",
                         data={"grant_type": "client_credentials", "client_id": user_id},
                         cert=(str(cert), str(key)), verify=tls.ca, timeout=30)
    assert resp.status_code == 401, resp.text


@pytest.mark.mixed_fleet
@pytest.mark.skipif(os.environ.get("INTEROP_SKIP_MIXED") == "1", reason="INTEROP_SKIP_MIXED=1")
def test_mixed_fleet_bound_token_and_mapping(tmp_path_factory):
    """Python Keystone 30 and keystone-rs sharing data and keys: the mapping Keystone stored
    is what keystone-rs runs, and the certificate-bound token keystone-rs issues validates on
    Keystone with the same body, `oauth2_credential` included (the Fernet OAuth2 payload)."""
    python = servers.PythonKeystone(servers.peer_venv(), tmp_path_factory.mktemp("py-mtls"))
    python.prepare()
    rs = None
    try:
        python.start()
        py_url = python.base_url + "/v3"
        admin_token, _ = clients.issue_token(py_url)

        def py(method, path, **kwargs):
            return requests.request(method, f"{py_url}{path}", timeout=30,
                                    headers={"X-Auth-Token": admin_token}, **kwargs)
        resp = py("POST", "/projects", json={"project": {
            "name": "mtls-mixed", "domain_id": servers.DOMAIN_ID}})
        assert resp.status_code == 201, resp.text
        project_id = resp.json()["project"]["id"]
        resp = py("POST", "/users", json={"user": {
            "name": "mtls-mixed-app", "domain_id": servers.DOMAIN_ID,
            "default_project_id": project_id}})
        assert resp.status_code == 201, resp.text
        user_id = resp.json()["user"]["id"]
        role_id = py("GET", "/roles?name=member").json()["roles"][0]["id"]
        assert py("PUT", f"/projects/{project_id}/users/{user_id}/roles/{role_id}").status_code \
            == 204
        resp = py("PUT", "/OS-FEDERATION/mappings/oauth2_mapping", json={"mapping": MAPPING})
        assert resp.status_code == 201, resp.text
        py_mapping = resp.json()["mapping"]

        pki = Pki(tmp_path_factory.mktemp("pki-mixed"))
        cert, key, _ = pki.issue("server", [(NameOID.COMMON_NAME, "127.0.0.1")], server=True)
        app_cert, app_key, app_der = pki.issue("app", [
            (NameOID.DOMAIN_COMPONENT, servers.DOMAIN_ID),
            (NameOID.COMMON_NAME, "mtls-mixed-app")])
        adopted = tmp_path_factory.mktemp("rs-mtls")
        with sqlite3.connect(python.db_path) as src, \
                sqlite3.connect(adopted / "keystone.db") as dst:
            src.backup(dst)
        rs = servers.KeystoneRs(
            servers.keystone_rs_binary(), adopted,
            connection=f"sqlite:///{adopted / 'keystone.db'}",
            key_repository=python.key_repository,
            extra_conf=f"[ssl]\ncertfile = {cert}\nkeyfile = {key}\nca_certs = {pki.ca_file}\n",
            ca_file=pki.ca_file)
        rs.write_config()
        rs.manage("db_sync")
        rs.start()
        ca = str(pki.ca_file)
        rs_url = rs.base_url + "/v3"
        rs_admin = requests.post(f"{rs_url}/auth/tokens", json=clients.password_auth_body(
            "project"), verify=ca, timeout=30).headers["X-Subject-Token"]

        resp = requests.get(f"{rs_url}/OS-FEDERATION/mappings/oauth2_mapping", verify=ca,
                            headers={"X-Auth-Token": rs_admin}, timeout=30)
        assert resp.status_code == 200, resp.text
        rs_mapping = resp.json()["mapping"]
        for m in (py_mapping, rs_mapping):
            del m["links"]
        assert rs_mapping == py_mapping

        resp = requests.post(f"{rs_url}/OS-OAUTH2/token", verify=ca, timeout=30,
                             data={"grant_type": "client_credentials", "client_id": user_id},
                             cert=(str(app_cert), str(app_key)))
        assert resp.status_code == 200, resp.text
        token = resp.json()["access_token"]
        bodies = []
        for url, caller, verify in ((py_url, admin_token, True), (rs_url, rs_admin, ca)):
            resp = requests.get(f"{url}/auth/tokens", verify=verify, timeout=30,
                                headers={"X-Auth-Token": caller, "X-Subject-Token": token})
            assert resp.status_code == 200, f"{url}: {resp.text}"
            body = resp.json()
            for service in body["token"].get("catalog", []):
                service["endpoints"].sort(key=lambda e: e["id"])
            body["token"].get("catalog", []).sort(key=lambda s: s["id"])
            body["token"]["roles"].sort(key=lambda r: r["id"])
            bodies.append(body)
        assert bodies[0] == bodies[1]
        pem = ssl.DER_cert_to_PEM_cert(app_der)
        assert bodies[0]["token"]["oauth2_credential"] == {"x5t#S256": base64.urlsafe_b64encode(
            hashlib.sha256(pem.encode("ascii")).digest()).decode()}
        assert bodies[0]["token"]["methods"] == []
    finally:
        python.stop()
        if rs:
            rs.stop()
