"""The scenarios: one fixed Keystone request each, built from what seeding produced.

A scenario names the seeded artefacts it needs (see seed.Seed.missing's keys); when one is
missing on a server, that server's row is "n/a" with the seeding step's reason.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Callable

from load import Request
from seed import Seed


@dataclass(frozen=True)
class Scenario:
    key: str  # stable identifier in results.json
    title: str  # what the table and the chart call it
    needs: tuple[str, ...]  # seed artefact groups: admin, identity, subject, appcred
    build: Callable[[Seed], Request]
    bcrypt_bound: bool = False  # each request verifies one bcrypt hash

    def request(self, seed: Seed) -> Request:
        return self.build(seed)


def _json(method: str, path: str, body: dict, token: str | None = None) -> Request:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    return Request(method, path, headers, json.dumps(body))


def _validate(query: str = "") -> Callable[[Seed], Request]:
    # As keystonemiddleware does it: a service user's token asks about a user's token.
    def build(s: Seed) -> Request:
        return Request("GET", "/v3/auth/tokens" + query, {
            "X-Auth-Token": s.service_token, "X-Subject-Token": s.user_project_token})
    return build


def _check(s: Seed) -> Request:
    # identity:check_token admits no service role (validate_token does): a client asks
    # whether its own token is still good.
    return Request("HEAD", "/v3/auth/tokens", {
        "X-Auth-Token": s.user_project_token, "X-Subject-Token": s.user_project_token})


def _password(s: Seed) -> Request:
    return _json("POST", "/v3/auth/tokens", {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": s.user_name, "domain": {"id": s.domain_id}, "password": s.user_password}}},
        "scope": {"project": {"id": s.project_id}}}})


def _appcred(s: Seed) -> Request:
    return _json("POST", "/v3/auth/tokens", {"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": s.appcred_id, "secret": s.appcred_secret}}}})


def _oauth2(s: Seed) -> Request:
    basic = base64.b64encode(f"{s.appcred_id}:{s.appcred_secret}".encode()).decode()
    return Request("POST", "/v3/OS-OAUTH2/token", {
        "Authorization": f"Basic {basic}",
        "Content-Type": "application/x-www-form-urlencoded"}, "grant_type=client_credentials")


def _rescope(s: Seed) -> Request:
    return _json("POST", "/v3/auth/tokens", {"auth": {
        "identity": {"methods": ["token"], "token": {"id": s.user_unscoped_token}},
        "scope": {"project": {"id": s.project_id}}}})


def _admin_get(path: str) -> Callable[[Seed], Request]:
    return lambda s: Request("GET", path.format(s=s), {"X-Auth-Token": s.admin_token})


def _validate_many(s: Seed) -> Request:
    # Tokens of thousands of distinct users, each presented once per round, as a cloud's
    # services present them: more than the validation caches hold.
    first = s.many_tokens[0] if s.many_tokens else s.user_project_token  # the preflight's
    return Request("GET", "/v3/auth/tokens", {
        "X-Auth-Token": s.service_token, "X-Subject-Token": first},
        subject_tokens=s.many_tokens)


def _auth_projects(s: Seed) -> Request:
    # A user in many groups asks which projects they may scope to (Horizon's project list).
    return Request("GET", "/v3/auth/projects", {"X-Auth-Token": s.bulk_user_token})


SCENARIOS: list[Scenario] = [
    Scenario("discovery", "GET /v3 (trivial route)", (),
             lambda s: Request("GET", "/v3")),
    Scenario("validate", "validate token", ("subject",), _validate()),
    Scenario("validate_nocatalog", "validate token ?nocatalog", ("subject",),
             _validate("?nocatalog")),
    Scenario("check", "HEAD check token", ("subject",), _check),
    Scenario("issue_password", "issue: password", ("subject",), _password,
             bcrypt_bound=True),
    Scenario("issue_appcred", "issue: application credential", ("appcred",), _appcred,
             bcrypt_bound=True),
    Scenario("oauth2_token", "OAuth2 client credentials", ("appcred",), _oauth2,
             bcrypt_bound=True),
    Scenario("rescope", "issue: token rescope", ("subject",), _rescope),
    Scenario("list_projects", "list projects", ("admin", "identity"),
             _admin_get("/v3/projects")),
    Scenario("list_assignments", "list role assignments +names", ("admin", "identity"),
             _admin_get("/v3/role_assignments?include_names=true")),
    # The scale scenarios: against the bulk deployment (--size M or L).
    Scenario("validate_many", "validate many distinct tokens", ("subject", "bulk"),
             _validate_many),
    Scenario("effective_assignments", "effective assignments, user in 100 groups",
             ("admin", "bulk"), _admin_get(
                 "/v3/role_assignments?effective&include_names&user.id={s.bulk_user_id}")),
    Scenario("auth_projects", "auth/projects, user in 100 groups", ("bulk",), _auth_projects),
    Scenario("list_users_page", "list users: page of 100", ("admin", "bulk"), _admin_get(
        "/v3/users?domain_id={s.bulk_domain_id}&limit=100")),
    Scenario("list_users_by_name", "list users: name filter", ("admin", "bulk"), _admin_get(
        "/v3/users?domain_id={s.bulk_domain_id}&name={s.bulk_user_name}")),
    Scenario("list_projects_page", "list projects: page of 100", ("admin", "bulk"),
             _admin_get("/v3/projects?domain_id={s.bulk_domain_id}&limit=100")),
    Scenario("list_projects_children", "list projects: by parent", ("admin", "bulk"),
             _admin_get("/v3/projects?parent_id={s.bulk_parent_id}")),
]


def select(keys: list[str] | None) -> list[Scenario]:
    if not keys:
        return SCENARIOS
    known = {s.key: s for s in SCENARIOS}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {', '.join(unknown)}; "
                         f"known: {', '.join(known)}")
    return [known[k] for k in keys]
