"""A devstack-style deployment session with the real `openstack` CLI, written once and run
against any Keystone; test_cli_scenario.py runs it on keystone-rs and on a fresh Python
Keystone and compares the two transcripts.

The commands are the ones devstack's lib/keystone and functions-common run
(`get_or_create_project` is `openstack project create NAME --domain=D --or-show -f value -c
id`, `get_or_add_user_project_role` is `openstack role add ...` then `openstack role
assignment list ...`, endpoints are `openstack endpoint create --region R SERVICE INTERFACE
URL -f value -c id`), plus what an operator checks afterwards (`-f json` shows, role
assignments with names), a token for the new user, keystonemiddleware's view of that token
while grants are removed, and disabling the user. Everything made is deleted at the end.

Masking is by recorded value, never by pattern over the whole output: every id the scenario
learns (what it created, and what bootstrap made, read through the API first) becomes a
placeholder named after the object, the Keystone URL becomes <keystone>, token ids become
<token:...>. Only the fields a fresh run is expected to change are blanked by key (a token's
`expires`), and by their exact format the CLI's request ids and the id Keystone generates for
a project it then rejects as a duplicate (in its 409 message). Any other value that differs
between two servers — an id we did not create, a timestamp in an unexpected field — stays in
the transcript and shows up as a difference.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path


import clients
import servers

# The CLI installed next to the interpreter running the tests (the interop venv).
OPENSTACK = str(Path(sys.executable).parent / "openstack")

DOMAIN = "scen-domain"
PROJECT = "scen-project"
CHILD_PROJECT = "scen-child"
USER = "scen-user"
PASSWORD = "scen-Secret-1"
NEW_PASSWORD = "scen-Secret-2"
GROUP = "scen-group"
ROLE = "scen-role"
IMPLIED_ROLE = "scen-implied"
REGION = "ScenRegion"
SERVICE = "scen-svc"
SERVICE_TYPE = "scen-type"
ENDPOINT_URL = "http://scen.example.org:9999/v1"
INTERFACES = ("public", "internal", "admin")

# JSON keys whose values a fresh run changes by design: the token's expiry.
VOLATILE_KEYS = frozenset({"expires"})
# The CLI appends "(Request-ID: req-<uuid4>)" to API errors.
REQUEST_ID = re.compile(r"\(Request-ID: req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}"
                        r"-[0-9a-f]{12}\)")
# Keystone's 409 for a duplicate project names the id it generated for the rejected one.
REJECTED_PROJECT_ID = re.compile(r"(the same name or same id in the same domain: name is "
                                 r"[^,]+, project id )[0-9a-f]{32}\.")


@dataclasses.dataclass
class Step:
    """One entry of the transcript: what ran and what came back, masked."""
    what: str
    exit_status: int
    stdout: str
    stderr: str
    # the scenario's expectation (exit status 0 or not); a broken expectation is reported
    # even when both servers agree
    expected_ok: bool = True

    def as_expected(self) -> bool:
        return (self.exit_status == 0) == self.expected_ok

    def render(self) -> str:
        lines = [f"$ {self.what}", f"exit {self.exit_status}"]
        lines += [f"  {line}" for line in self.stdout.rstrip("\n").splitlines()]
        lines += [f"! {line}" for line in self.stderr.rstrip("\n").splitlines()]
        return "\n".join(lines)


@dataclasses.dataclass
class Transcript:
    base_url: str
    steps: list[Step] = dataclasses.field(default_factory=list)
    # recorded volatile value -> placeholder
    masks: dict[str, str] = dataclasses.field(default_factory=dict)

    def remember(self, value: str | None, placeholder: str) -> None:
        if value:
            self.masks[value] = placeholder

    def mask_text(self, text: str) -> str:
        # longest first: a token or URL may contain a shorter recorded value
        for value in sorted(self.masks, key=len, reverse=True):
            text = text.replace(value, self.masks[value])
        text = text.replace(self.base_url, "<keystone>")
        text = REJECTED_PROJECT_ID.sub(r"\1<rejected-project-id>.", text)
        return REQUEST_ID.sub("(Request-ID: <request-id>)", text)

    def mask_json(self, data):
        if isinstance(data, dict):
            # keys too: `project show --parents` maps ids to subtrees
            return {self.mask_text(k): "<volatile>" if k in VOLATILE_KEYS and v
                    else self.mask_json(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.mask_json(v) for v in data]
        if isinstance(data, str):
            return self.mask_text(data)
        return data

    def mask_output(self, stdout: str, unordered: bool | str = False) -> str:
        try:
            data = json.loads(stdout)
        except ValueError:
            return self.mask_text(stdout)
        data = self.mask_json(data)
        if unordered:
            items = data if unordered is True else data[unordered]
            items.sort(key=lambda item: json.dumps(item, sort_keys=True))
        return json.dumps(data, indent=1, sort_keys=True)


class Scenario:
    """Runs the steps against one Keystone and records the transcript."""

    def __init__(self, base_url: str, workdir: Path, run_cli=None):
        # run_cli(argv, env, cwd) -> (exit status, stdout, stderr)
        self.run_cli = run_cli or cli_subprocess
        self.base_url = base_url.rstrip("/")
        self.auth_url = f"{self.base_url}/v3"
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.transcript = Transcript(base_url=self.base_url)
        self.ids: dict[str, str] = {}
        # X-Roles of the last middleware check that passed (None: it was rejected), and
        # the two sets run() hands to the test: before and after the user's grant goes
        self.last_middleware_roles: set[str] | None = None
        self.roles_seen: tuple[set[str] | None, set[str] | None] = (None, None)

    # --- environments -------------------------------------------------------------------

    def _base_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update({"OS_AUTH_URL": self.auth_url, "OS_IDENTITY_API_VERSION": "3",
                    "OS_REGION_NAME": servers.REGION, "OS_INTERFACE": "public"})
        return env

    def admin_env(self) -> dict:
        """devstack's admin openrc."""
        return {**self._base_env(), "OS_AUTH_TYPE": "password",
                "OS_USERNAME": servers.ADMIN_USER, "OS_PASSWORD": servers.ADMIN_PASSWORD,
                "OS_PROJECT_NAME": servers.ADMIN_PROJECT,
                "OS_USER_DOMAIN_ID": servers.DOMAIN_ID,
                "OS_PROJECT_DOMAIN_ID": servers.DOMAIN_ID}

    def user_env(self, password: str = PASSWORD) -> dict:
        """The new user's openrc, by names as a user would write it."""
        return {**self._base_env(), "OS_AUTH_TYPE": "password", "OS_USERNAME": USER,
                "OS_PASSWORD": password, "OS_USER_DOMAIN_NAME": DOMAIN,
                "OS_PROJECT_NAME": PROJECT, "OS_PROJECT_DOMAIN_NAME": DOMAIN}

    def token_env(self, token: str) -> dict:
        """Authenticating with an existing token (the v3token plugin), project-scoped."""
        return {**self._base_env(), "OS_AUTH_TYPE": "v3token", "OS_TOKEN": token,
                "OS_PROJECT_ID": self.ids.get("project", "")}

    # --- steps --------------------------------------------------------------------------

    def openstack(self, *args: str, env: dict | None = None, save: str | None = None,
                  ok: bool = True, label: str = "", unordered: bool | str = False) -> str:
        """`openstack ARGS`; `save` keeps stdout (an id from `-f value -c id`) under that
        name and masks it as <save> from then on. `unordered`: the output is a JSON list
        (or, if a key, holds one under that key) whose order Keystone leaves to the
        database — no ORDER BY, so insertion order on SQLite and the primary key's, a
        random id, on MariaDB — and is compared sorted."""
        started = time.monotonic()
        status, stdout, stderr = self.run_cli(list(args), env or self.admin_env(),
                                              self.workdir)
        # to the worker's log (scenario.log), for when the test is slow
        print(f"{time.monotonic() - started:5.2f}s exit {status}: openstack {' '.join(args)}",
              file=sys.stderr, flush=True)
        out = stdout.strip()
        if save and status == 0 and out:
            self.ids[save] = out
            self.transcript.remember(out, f"<{save}>")
        shown = " ".join(args)
        if label:
            shown = f"[{label}] {shown}"
        self.transcript.steps.append(Step(
            what=self.transcript.mask_text(shown), exit_status=status,
            stdout=self.transcript.mask_output(stdout, unordered),
            stderr=self.transcript.mask_text(stderr), expected_ok=ok))
        return out

    def middleware(self, token: str, label: str, ok: bool = True) -> None:
        """What keystonemiddleware's auth_token (no cache: token_cache_time=-1) tells the
        service behind it about `token`: the status, and the identity headers with X-Roles
        sorted (the middleware joins the token's roles in the server's order)."""
        app = clients.auth_token_app(self.auth_url, _echo_identity)
        resp = app.get("/", headers={"X-Auth-Token": token}, expect_errors=True)
        if resp.status_int == 200:
            seen = dict(resp.json)
            seen["HTTP_X_ROLES"] = ",".join(sorted(seen["HTTP_X_ROLES"].split(",")))
            stdout = json.dumps(seen, indent=1, sort_keys=True)
        else:
            stdout = f"WWW-Authenticate: {resp.headers.get('WWW-Authenticate')}"
        self.transcript.steps.append(Step(
            what=f"[middleware] {label}", exit_status=0 if resp.status_int == 200 else
            resp.status_int, stdout=self.transcript.mask_text(stdout), stderr="",
            expected_ok=ok))
        self.last_middleware_roles = (set(resp.json["HTTP_X_ROLES"].split(","))
                                      if resp.status_int == 200 else None)

    # --- the scenario -------------------------------------------------------------------

    def record_bootstrap(self) -> None:
        """Names the ids bootstrap made (admin user, project, roles, identity service and
        endpoints), read with the API, so they mask as <role:admin> etc."""
        admin = clients.admin_session(self.auth_url)

        def listed(collection: str) -> list[dict]:
            return admin.get(f"{self.auth_url}/{collection}").json()[collection]

        for collection in ("users", "projects", "roles"):
            for obj in listed(collection):
                self.transcript.remember(obj["id"], f"<{collection[:-1]}:{obj['name']}>")
        service_types = {}
        for service in listed("services"):
            service_types[service["id"]] = service["type"]
            self.transcript.remember(service["id"], f"<service:{service['type']}>")
        for ep in listed("endpoints"):
            self.transcript.remember(
                ep["id"], f"<endpoint:{service_types.get(ep['service_id'])}/{ep['interface']}>")

    def run(self) -> Transcript:
        self.record_bootstrap()
        os_ = self.openstack

        # --- devstack: domain, project, user, group, roles ----------------------------
        os_("domain", "create", DOMAIN, "--description", "Scenario domain", "--or-show",
            "-f", "value", "-c", "id", save="domain")
        os_("domain", "show", DOMAIN, "-f", "json")
        os_("project", "create", PROJECT, f"--domain={DOMAIN}", "--description",
            "Scenario project", "--or-show", "-f", "value", "-c", "id", save="project")
        # devstack's get_or_create_* run again: --or-show must find the same one
        os_("project", "create", PROJECT, f"--domain={DOMAIN}", "--or-show", "-f", "value",
            "-c", "id")
        os_("project", "show", PROJECT, "--domain", DOMAIN, "-f", "json")
        os_("project", "create", CHILD_PROJECT, f"--domain={DOMAIN}", "--parent", PROJECT,
            "-f", "value", "-c", "id", save="child-project")
        os_("project", "show", PROJECT, "--domain", DOMAIN, "--parents", "--children",
            "-f", "json")
        os_("project", "list", "--domain", DOMAIN, "--long", "-f", "json", unordered=True)
        # without --or-show a second create is Keystone's 409, message and all
        os_("project", "create", PROJECT, f"--domain={DOMAIN}", ok=False)
        os_("project", "set", "--description", "Changed", "--tag", "t1", "--tag", "t2",
            "--domain", DOMAIN, PROJECT)
        os_("project", "show", PROJECT, "--domain", DOMAIN, "-f", "json")
        os_("user", "create", USER, f"--password={PASSWORD}", f"--domain={DOMAIN}",
            "--email=scen@example.org", "--or-show", "-f", "value", "-c", "id", save="user")
        os_("user", "create", USER, f"--password={PASSWORD}", f"--domain={DOMAIN}",
            "--or-show", "-f", "value", "-c", "id")
        os_("user", "show", USER, "--domain", DOMAIN, "-f", "json")
        os_("user", "list", "--domain", DOMAIN, "--long", "-f", "json")
        os_("user", "create", USER, f"--password={PASSWORD}", f"--domain={DOMAIN}", ok=False)
        os_("user", "set", "--email", "new@example.org", "--project", PROJECT,
            "--project-domain", DOMAIN, "--domain", DOMAIN, USER)
        os_("user", "show", USER, "--domain", DOMAIN, "-f", "json")
        os_("group", "create", GROUP, "--domain", DOMAIN, "--description", "Scenario group",
            "--or-show", "-f", "value", "-c", "id", save="group")
        os_("group", "add", "user", "--group-domain", DOMAIN, "--user-domain", DOMAIN,
            GROUP, USER)
        os_("group", "contains", "user", "--group-domain", DOMAIN, "--user-domain", DOMAIN,
            GROUP, USER)
        os_("group", "list", "--user", USER, "--user-domain", DOMAIN, "--long", "-f", "json")
        os_("role", "create", ROLE, "--or-show", "-f", "value", "-c", "id", save="role")
        os_("role", "create", IMPLIED_ROLE, "--or-show", "-f", "value", "-c", "id",
            save="implied-role")
        os_("role", "create", ROLE, ok=False)
        os_("implied", "role", "create", ROLE, "--implied-role", IMPLIED_ROLE, "-f", "json")
        os_("implied", "role", "list", "-f", "json", unordered=True)

        # --- grants ---------------------------------------------------------------------
        os_("role", "add", ROLE, "--user", USER, "--user-domain", DOMAIN, "--project",
            PROJECT, "--project-domain", DOMAIN)
        os_("role", "add", "member", "--group", GROUP, "--group-domain", DOMAIN,
            "--project", PROJECT, "--project-domain", DOMAIN)
        os_("role", "add", "reader", "--user", USER, "--user-domain", DOMAIN,
            "--domain", DOMAIN)
        # devstack's get_or_add_user_project_role reads the assignment back from the table
        os_("role", "assignment", "list", "--role", ROLE, "--user", USER, "--user-domain",
            DOMAIN, "--project", PROJECT, "--project-domain", DOMAIN)
        os_("role", "assignment", "list", "--names", "--project", PROJECT,
            "--project-domain", DOMAIN, "-f", "json", unordered=True)
        os_("role", "assignment", "list", "--names", "--effective", "--user", USER,
            "--user-domain", DOMAIN, "-f", "json", unordered=True)
        os_("role", "assignment", "list", "--names", "--group", GROUP, "--group-domain",
            DOMAIN, "-f", "json", unordered=True)

        # --- catalog --------------------------------------------------------------------
        os_("region", "create", REGION, "--description", "Scenario region", "-f", "json")
        os_("region", "show", REGION, "-f", "json")
        os_("region", "create", REGION, ok=False)
        os_("service", "create", SERVICE_TYPE, "--name", SERVICE, "--description",
            "Scenario service", "-f", "value", "-c", "id", save="service")
        for interface in INTERFACES:
            os_("endpoint", "create", "--region", REGION, SERVICE, interface, ENDPOINT_URL,
                "-f", "value", "-c", "id", save=f"endpoint-{interface}")
        os_("endpoint", "list", "--service", SERVICE, "--interface", "public", "--region",
            REGION, "-c", "ID", "-f", "value")
        os_("endpoint", "list", "--service", SERVICE, "-f", "json", unordered=True)
        os_("service", "show", SERVICE, "-f", "json")
        os_("endpoint", "show", self.ids.get("endpoint-public", "<endpoint-public>"),
            "-f", "json")

        # --- the new user ---------------------------------------------------------------
        user_env = self.user_env()
        token = os_("token", "issue", "-f", "value", "-c", "id", env=user_env,
                    label=f"as {USER}", save="token:user")
        os_("catalog", "show", SERVICE_TYPE, "-f", "json", env=user_env,
            label=f"as {USER}", unordered="endpoints")
        os_("project", "list", "--my-projects", "-f", "json", env=user_env,
            label=f"as {USER}")
        os_("user", "show", self.ids.get("user", USER), "-f", "json", env=user_env,
            label=f"as {USER}")
        os_("project", "list", "--user", self.ids.get("user", USER), "-f", "json")
        # implied roles expanded, the group's member role and what member implies
        self.middleware(token, "the new user's token")
        roles_before = self.last_middleware_roles
        os_("role", "remove", ROLE, "--user", USER, "--user-domain", DOMAIN, "--project",
            PROJECT, "--project-domain", DOMAIN)
        # roles are recomputed at validation: scen-role and what it implies are gone
        self.middleware(token, "after role remove of the user's grant")
        roles_after_user_grant = self.last_middleware_roles
        os_("role", "remove", "member", "--group", GROUP, "--group-domain", DOMAIN,
            "--project", PROJECT, "--project-domain", DOMAIN)
        # no role left on the project: the token is no longer valid
        self.middleware(token, "after role remove of the group's grant", ok=False)

        os_("role", "add", ROLE, "--user", USER, "--user-domain", DOMAIN, "--project",
            PROJECT, "--project-domain", DOMAIN)
        token = os_("token", "issue", "-f", "value", "-c", "id", env=user_env,
                    label=f"as {USER}", save="token:user-2")
        os_("project", "show", self.ids.get("project", PROJECT), "-c", "name", "-f", "value",
            env=self.token_env(token), label="with the user's token")
        self.middleware(token, "the user's new token")
        # self-service password change revokes the user's tokens
        os_("user", "password", "set", "--original-password", PASSWORD, "--password",
            NEW_PASSWORD, env=user_env, label=f"as {USER}")
        self.middleware(token, "after the user changed their password", ok=False)
        os_("token", "issue", "-f", "value", "-c", "id", env=user_env,
            label=f"as {USER}, old password", ok=False)
        user_env = self.user_env(NEW_PASSWORD)
        token = os_("token", "issue", "-f", "value", "-c", "id", env=user_env,
                    label=f"as {USER}, new password", save="token:user-3")
        os_("user", "set", "--disable", "--domain", DOMAIN, USER)
        os_("user", "show", USER, "--domain", DOMAIN, "-c", "enabled", "-f", "value")
        os_("token", "issue", "-f", "value", "-c", "id", env=self.token_env(token),
            label="with the disabled user's token", ok=False)
        os_("token", "issue", "-f", "value", "-c", "id", env=user_env,
            label=f"as disabled {USER}", ok=False)
        self.middleware(token, "the disabled user's token", ok=False)

        # --- clean up -------------------------------------------------------------------
        os_("role", "remove", ROLE, "--user", USER, "--user-domain", DOMAIN, "--project",
            PROJECT, "--project-domain", DOMAIN)
        os_("role", "remove", "reader", "--user", USER, "--user-domain", DOMAIN,
            "--domain", DOMAIN)
        os_("role", "assignment", "list", "--names", "--user", USER, "--user-domain",
            DOMAIN, "-f", "json")
        os_("endpoint", "delete", *(self.ids.get(f"endpoint-{i}", f"<endpoint-{i}>")
                                    for i in INTERFACES))
        os_("service", "delete", SERVICE)
        os_("region", "delete", REGION)
        os_("implied", "role", "delete", ROLE, "--implied-role", IMPLIED_ROLE)
        os_("role", "delete", ROLE, IMPLIED_ROLE)
        os_("group", "remove", "user", "--group-domain", DOMAIN, "--user-domain", DOMAIN,
            GROUP, USER)
        os_("group", "delete", "--domain", DOMAIN, GROUP)
        os_("user", "delete", "--domain", DOMAIN, USER)
        # not a leaf of the hierarchy: refused
        os_("project", "delete", "--domain", DOMAIN, PROJECT, ok=False)
        os_("project", "delete", "--domain", DOMAIN, CHILD_PROJECT)
        os_("project", "delete", "--domain", DOMAIN, PROJECT)
        # a domain must be disabled before it can be deleted
        os_("domain", "delete", DOMAIN, ok=False)
        os_("domain", "set", "--disable", DOMAIN)
        os_("domain", "delete", DOMAIN)
        os_("domain", "show", DOMAIN, ok=False)
        os_("role", "show", ROLE, ok=False)

        self.roles_seen = (roles_before, roles_after_user_grant)
        return self.transcript


def _echo_identity(environ, start_response):
    """The service behind the middleware: reports what auth_token told it."""
    keys = ("HTTP_X_IDENTITY_STATUS", "HTTP_X_USER_ID", "HTTP_X_USER_NAME",
            "HTTP_X_USER_DOMAIN_ID", "HTTP_X_USER_DOMAIN_NAME", "HTTP_X_PROJECT_ID",
            "HTTP_X_PROJECT_NAME", "HTTP_X_PROJECT_DOMAIN_ID", "HTTP_X_PROJECT_DOMAIN_NAME",
            "HTTP_X_ROLES", "HTTP_X_IS_ADMIN_PROJECT")
    body = json.dumps({k: environ.get(k) for k in keys}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def cli_subprocess(argv: list[str], env: dict, cwd: Path) -> tuple[int, str, str]:
    """The `openstack` console script, one process per command, as devstack runs it."""
    result = subprocess.run([OPENSTACK, *argv], env=env, cwd=cwd, capture_output=True,
                            text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def cli_in_process(argv: list[str], env: dict, cwd: Path) -> tuple[int, str, str]:
    """The same entry point the console script calls (openstackclient.shell.main), in this
    process: a fresh OpenStackShell per command, reading OS_* from the environment, so
    only the ~1-2 s of imports per command is saved. Not thread-safe (it swaps
    os.environ, sys.stdout/stderr and the root logger's handlers): one scenario per
    process."""
    from openstackclient import shell

    saved_env = dict(os.environ)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    stdout, stderr = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    old_cwd, old_argv0 = os.getcwd(), sys.argv[0]
    os.chdir(cwd)
    sys.argv[0] = "openstack"  # argparse's prog, in usage messages
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                status = shell.main(argv)
            except SystemExit as e:  # argparse errors
                status = e.code if isinstance(e.code, int) else 1
    finally:
        os.chdir(old_cwd)
        sys.argv[0] = old_argv0
        os.environ.clear()
        os.environ.update(saved_env)
        # each run adds its console handler (bound to the redirected stderr) to the root
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    return status, stdout.getvalue(), stderr.getvalue()


def main(argv: list[str]) -> int:
    """python cli_scenario.py [--subprocess] BASE_URL WORKDIR OUTPUT.json

    Runs the scenario against the Keystone at BASE_URL and writes the masked transcript
    (and the roles the middleware saw) to OUTPUT.json. The CLI runs in this process
    unless --subprocess (slower: one `openstack` process per command, exactly devstack)."""
    args = argv[1:]
    run_cli = cli_in_process
    if args[:1] == ["--subprocess"]:
        run_cli, args = cli_subprocess, args[1:]
    if len(args) != 3:
        print(main.__doc__, file=sys.stderr)
        return 2
    base_url, workdir, output = args
    # keystonemiddleware's warnings about its options go to this process's log
    logging.basicConfig(level=logging.WARNING)
    scenario = Scenario(base_url, Path(workdir), run_cli=run_cli)
    transcript = scenario.run()
    Path(output).write_text(json.dumps({
        "steps": [dataclasses.asdict(step) for step in transcript.steps],
        "roles_seen": [sorted(roles) if roles is not None else None
                       for roles in scenario.roles_seen],
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
