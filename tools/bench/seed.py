"""Seeds a Keystone deployment through its API only, and collects what the scenarios need.

Every step is an ordinary Keystone v3 call made as the bootstrap admin (system scope). A
step the server does not serve (404/405/501) does not stop the seeding: the artefacts that
depend on it are recorded as missing with the reason, so the scenarios needing them can be
reported "n/a (not served: ...)" while the others still run.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import requests

ADMIN_USER = "admin"
ADMIN_PASSWORD = "secretadmin"  # what tests/interop/servers.py and setup.sh bootstrap
REGION = "RegionOne"
NOT_SERVED = (404, 405, 501)

# The data set: small, but with the shape that makes token and listing work real
# (direct and group grants, implied roles, a catalog of realistic size).
PROJECTS = 10
USERS = 10
GROUPS = 2
SERVICES = 10
INTERFACES = ("public", "internal", "admin")


class StepFailed(Exception):
    """A seeding call answered something other than success."""

    def __init__(self, step: str, status: int, body: str = ""):
        self.step = step
        self.status = status
        if status in NOT_SERVED:
            self.reason = f"not served: {step} {status}"
        else:
            self.reason = f"fails: {step} {status} {body[:120]}".rstrip()
        super().__init__(self.reason)


@dataclass
class Seed:
    """What the scenarios draw on. A None artefact has its reason in `missing`."""

    base_url: str
    subject: str = "seeded"  # or "admin": see seed()
    admin_token: str | None = None  # system-scoped: the lists' caller
    service_token: str | None = None  # a service user's project token: validates tokens
    domain_id: str | None = None
    project_id: str | None = None  # the subject user's project
    user_id: str | None = None
    user_name: str | None = None
    user_password: str | None = None
    user_project_token: str | None = None  # the token the validate scenarios check
    user_unscoped_token: str | None = None  # the token the rescope scenario presents
    appcred_id: str | None = None
    appcred_secret: str | None = None
    # The bulk deployment (bulk.py) beside the fixture, at sizes M and L: artefact group "bulk"
    bulk_domain_id: str | None = None
    bulk_user_id: str | None = None  # bulk user 0, in bulk.MANY_GROUPS groups
    bulk_user_token: str | None = None  # user 0's project token
    bulk_parent_id: str | None = None  # a mid-level project (with leaves under it)
    bulk_user_name: str | None = None  # a user the name filter finds
    many_tokens: list[str] = field(default_factory=list)  # distinct bulk users' tokens
    counts: dict[str, int] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # artefact group -> reason

    def to_json(self) -> dict:
        """For results.json: what was seeded, never a secret or token."""
        return {"subject": self.subject, "counts": self.counts, "missing": self.missing}


class Api:
    """A thin Keystone client: one call, one step name for error reports."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.token: str | None = None

    def call(self, method: str, path: str, step: str, body: dict | None = None,
             token: str | None = None, expect: tuple[int, ...] = (200, 201, 204)):
        headers = {}
        if token or self.token:
            headers["X-Auth-Token"] = token or self.token
        try:
            resp = self.http.request(method, self.base_url + path, json=body,
                                     headers=headers, timeout=60)
        except requests.RequestException as e:
            raise StepFailed(step, 0, f"no answer: {type(e).__name__}") from None
        if resp.status_code not in expect:
            raise StepFailed(step, resp.status_code, resp.text)
        return resp

    def password_token(self, user: dict, scope: dict | None, step: str) -> str:
        return self.password_login(user, scope, step)[0]

    def password_login(self, user: dict, scope: dict | None, step: str) -> tuple[str, dict]:
        """The token and its body."""
        auth: dict = {"identity": {"methods": ["password"], "password": {"user": user}}}
        if scope is not None:
            auth["scope"] = scope
        resp = self.call("POST", "/v3/auth/tokens", step, {"auth": auth}, expect=(201,))
        return resp.headers["X-Subject-Token"], resp.json()["token"]


def seed(base_url: str, subject: str = "seeded") -> Seed:
    """Seeds everything; `subject` "admin" makes the bootstrap admin on its admin project
    the token scenarios' subject (and validator) instead of the seeded user, so that token
    routes can be compared on a server that cannot create users yet."""
    api = Api(base_url)
    out = Seed(base_url=base_url, subject=subject)
    try:
        api.token = out.admin_token = api.password_token(
            {"name": ADMIN_USER, "domain": {"id": "default"}, "password": ADMIN_PASSWORD},
            {"system": {"all": True}}, "admin system-scoped login")
    except StepFailed as e:
        # Nothing else can be seeded or measured with authority.
        for group in ("admin", "catalog", "identity", "subject", "appcred"):
            out.missing[group] = e.reason
        return out

    try:
        seed_catalog(api, out)
    except StepFailed as e:
        out.missing["catalog"] = e.reason
    try:
        seed_identity(api, out)
        try:
            seed_application_credential(api, out)
        except StepFailed as e:
            out.missing["appcred"] = e.reason
    except StepFailed as e:
        for group in ("identity", "subject", "appcred"):
            out.missing[group] = e.reason
    if subject == "admin":
        out.missing.pop("subject", None)
        try:
            use_bootstrap_admin(api, out)
        except StepFailed as e:
            out.missing["subject"] = e.reason
    return out


def seed_catalog(api: Api, out: Seed) -> None:
    """SERVICES services with one endpoint per interface, next to bootstrap's identity."""
    for i in range(SERVICES):
        service = api.call("POST", "/v3/services", "POST /v3/services", {"service": {
            "name": f"bench-service-{i}", "type": f"bench-type-{i}",
            "description": "benchmark catalog entry"}}).json()["service"]
        for interface in INTERFACES:
            api.call("POST", "/v3/endpoints", "POST /v3/endpoints", {"endpoint": {
                "service_id": service["id"], "interface": interface, "region_id": REGION,
                "url": f"http://127.0.0.1:9{i:03d}/{interface}/v1"}})
        out.counts["services"] = i + 1
        out.counts["endpoints"] = (i + 1) * len(INTERFACES)


def role_id(api: Api, name: str) -> str:
    """A role bootstrap created (admin implies member implies reader)."""
    roles = api.call("GET", f"/v3/roles?name={name}", "GET /v3/roles").json()["roles"]
    if not roles:
        raise StepFailed(f"GET /v3/roles?name={name} (empty)", 200)
    return roles[0]["id"]


def seed_identity(api: Api, out: Seed) -> None:
    """A domain with projects, users and groups, and grants both direct and via groups.
    User 0 on project 0 is the scenarios' subject: member directly, reader via group 0.
    A service user (role `service` on a service project, as a deployment gives nova or
    neutron) is who validates tokens, as keystonemiddleware does."""
    domain = api.call("POST", "/v3/domains", "POST /v3/domains", {"domain": {
        "name": "bench", "description": "benchmark domain"}}).json()["domain"]
    out.domain_id = domain["id"]
    projects = []
    for i in range(PROJECTS):
        projects.append(api.call("POST", "/v3/projects", "POST /v3/projects", {"project": {
            "name": f"bench-project-{i}", "domain_id": domain["id"]}}).json()["project"]["id"])
    out.counts["projects"] = len(projects)
    member, reader = role_id(api, "member"), role_id(api, "reader")
    service_role = role_id(api, "service")

    password = secrets.token_urlsafe(16)
    users = []
    for i in range(USERS):
        users.append(api.call("POST", "/v3/users", "POST /v3/users", {"user": {
            "name": f"bench-user-{i}", "domain_id": domain["id"], "password": password,
            "email": f"bench-user-{i}@example.org"}}).json()["user"]["id"])
    out.counts["users"] = len(users)

    groups = []
    for i in range(GROUPS):
        groups.append(api.call("POST", "/v3/groups", "POST /v3/groups", {"group": {
            "name": f"bench-group-{i}", "domain_id": domain["id"]}}).json()["group"]["id"])
    for i, user in enumerate(users):
        group = groups[i % GROUPS]
        api.call("PUT", f"/v3/groups/{group}/users/{user}", "PUT /v3/groups/{g}/users/{u}")
    out.counts["groups"] = len(groups)

    grants = 0
    for i, user in enumerate(users):
        project = projects[i % PROJECTS]
        api.call("PUT", f"/v3/projects/{project}/users/{user}/roles/{member}",
                 "PUT /v3/projects/{p}/users/{u}/roles/{r}")
        grants += 1
    for i, group in enumerate(groups):
        for project in projects[i::GROUPS] + ([projects[0]] if i else []):
            api.call("PUT", f"/v3/projects/{project}/groups/{group}/roles/{reader}",
                     "PUT /v3/projects/{p}/groups/{g}/roles/{r}")
            grants += 1
    api.call("PUT", f"/v3/domains/{domain['id']}/groups/{groups[0]}/roles/{reader}",
             "PUT /v3/domains/{d}/groups/{g}/roles/{r}")
    out.counts["grants"] = grants + 1

    service_project = api.call("POST", "/v3/projects", "POST /v3/projects", {"project": {
        "name": "bench-service", "domain_id": domain["id"]}}).json()["project"]["id"]
    service_password = secrets.token_urlsafe(16)
    service_user = api.call("POST", "/v3/users", "POST /v3/users", {"user": {
        "name": "bench-service-user", "domain_id": domain["id"],
        "password": service_password}}).json()["user"]["id"]
    api.call("PUT", f"/v3/projects/{service_project}/users/{service_user}/roles/{service_role}",
             "PUT /v3/projects/{p}/users/{u}/roles/{r}")
    out.service_token = api.password_token(
        {"id": service_user, "password": service_password},
        {"project": {"id": service_project}}, "POST /v3/auth/tokens (service user)")

    out.project_id, out.user_id, out.user_name = projects[0], users[0], "bench-user-0"
    out.user_password = password
    subject = {"name": out.user_name, "domain": {"id": domain["id"]}, "password": password}
    out.user_project_token = api.password_token(
        subject, {"project": {"id": out.project_id}}, "POST /v3/auth/tokens (bench user)")
    out.user_unscoped_token = api.password_token(
        subject, None, "POST /v3/auth/tokens (bench user, unscoped)")


def seed_application_credential(api: Api, out: Seed) -> None:
    """Created by the subject user with their project token, as a user would."""
    cred = api.call("POST", f"/v3/users/{out.user_id}/application_credentials",
                    "POST /v3/users/{u}/application_credentials",
                    {"application_credential": {"name": "bench-appcred",
                                                "description": "benchmark client"}},
                    token=out.user_project_token).json()["application_credential"]
    out.appcred_id, out.appcred_secret = cred["id"], cred["secret"]
    out.counts["application_credentials"] = 1


def use_bootstrap_admin(api: Api, out: Seed) -> None:
    """The token scenarios' subject becomes the bootstrap admin on the admin project; its
    project token also stands in for the service token (admin passes validate_token)."""
    user = {"name": ADMIN_USER, "domain": {"id": "default"}, "password": ADMIN_PASSWORD}
    token, body = api.password_login(
        user, {"project": {"name": "admin", "domain": {"id": "default"}}},
        "POST /v3/auth/tokens (admin, project)")
    out.user_project_token = out.service_token = token
    out.project_id = body["project"]["id"]
    out.user_id, out.user_name, out.user_password = body["user"]["id"], ADMIN_USER, ADMIN_PASSWORD
    out.domain_id = "default"
    out.user_unscoped_token = api.password_token(user, None,
                                                 "POST /v3/auth/tokens (admin, unscoped)")
