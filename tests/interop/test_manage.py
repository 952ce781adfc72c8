"""keystone-manage: the `keystone-manage` alias of keystone-rs with oslo.config's global
options, run the way devstack runs it; `doctor`, `db_version`, `db_sync --check/--migrate/
--contract` and `mapping_engine` compared with Python Keystone 30.0.0's keystone-manage on
the same deployment; `serve` refusing each broken deployment with a message that names what
is wrong and the fix; `/healthcheck` on a schema behind the build.

Real processes throughout. The comparisons with Python Keystone need the peer venv (SQLite
only: it has no PostgreSQL/MySQL driver); the rest also runs on the scratch database that
KEYSTONE_TEST_DATABASE_URL names.
"""

from __future__ import annotations

import getpass
import grp
import os
import re
import sqlite3
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest

import servers

SKIP_MIXED = pytest.mark.skipif(os.environ.get("INTEROP_SKIP_MIXED") == "1",
                                reason="INTEROP_SKIP_MIXED=1")
OWNER = ["--keystone-user", getpass.getuser(),
         "--keystone-group", grp.getgrgid(os.getgid()).gr_name]


def run(cmd, env=None, timeout=120, stdin=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True,
                          timeout=timeout, input=stdin)


@pytest.fixture
def alias(tmp_path) -> Path:
    """`keystone-manage`: a symlink to the keystone-rs binary."""
    binary = servers.keystone_rs_binary()
    if not binary.is_file():
        pytest.fail(f"no keystone-rs binary at {binary}")
    link = tmp_path / "bin" / "keystone-manage"
    link.parent.mkdir()
    link.symlink_to(binary)
    return link


@pytest.fixture
def database(tmp_path):
    """The deployment's [database] connection: a scratch database when
    KEYSTONE_TEST_DATABASE_URL names a server, else a SQLite file."""
    db = servers.ScratchDatabase.from_env()
    if db is None:
        yield f"sqlite:///{tmp_path}/keystone.db"
        return
    db.create()
    try:
        yield db.url
    finally:
        db.drop()


def conf_text(workdir: Path, connection: str, extra: str = "") -> str:
    return f"""[DEFAULT]
debug = false
[database]
connection = {connection}
[cache]
enabled = true
backend = dogpile.cache.memory
[fernet_tokens]
key_repository = {workdir}/fernet-keys
[fernet_receipts]
key_repository = {workdir}/receipt-keys
[credential]
key_repository = {workdir}/credential-keys
{extra}"""


def write_conf(workdir: Path, connection: str, extra: str = "") -> Path:
    conf = workdir / "keystone.conf"
    conf.write_text(conf_text(workdir, connection, extra))
    return conf


# oslo.log writes to stdout when no log file is set: Keystone's log lines, which keystone-rs
# sends to stderr, are left out of what is compared.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \d+ (DEBUG|INFO|WARNING|ERROR) ")


def unlogged(stdout: str) -> str:
    return "".join(l for l in stdout.splitlines(keepends=True) if not LOG_LINE.match(l))


def warnings(stdout: str) -> list[str]:
    """doctor's symptoms: the first line of each `WARNING:` block."""
    return [line[len("WARNING: "):] for line in stdout.splitlines()
            if line.startswith("WARNING: ")]


# --- the alias, as devstack runs it ------------------------------------------------------

def test_devstack_invocations_through_the_alias(alias, tmp_path, database):
    conf = write_conf(tmp_path, database)
    # lib/keystone: `keystone-manage --config-file $KEYSTONE_CONF db_sync` (and the = form)
    r = run([alias, "--config-file", conf, "db_sync"])
    assert r.returncode == 0, r.stderr
    r = run([alias, f"--config-file={conf}", "db_sync", "--check"])
    assert r.returncode == 0, r.stderr
    assert "All db_sync commands are upgraded to the same version and up-to-date." in r.stdout
    # fernet_setup / credential_setup with ownership flags
    for verb, repo in (("fernet_setup", "fernet-keys"), ("credential_setup", "credential-keys")):
        r = run([alias, "--config-file", conf, verb, *OWNER])
        assert r.returncode == 0, r.stderr
        assert sorted(p.name for p in (tmp_path / repo).iterdir()) == ["0", "1"]
    # `keystone-manage bootstrap …` has no --config-file in devstack: the config is found
    # where oslo.config looks (~/.keystone/keystone.conf here, /etc/keystone there).
    home = tmp_path / "home"
    (home / ".keystone").mkdir(parents=True)
    (home / ".keystone" / "keystone.conf").write_text(conf.read_text())
    env = {**os.environ, "HOME": str(home)}
    r = run([alias, "bootstrap", "--bootstrap-username", "admin",
             "--bootstrap-password", "s3cret", "--bootstrap-project-name", "admin",
             "--bootstrap-role-name", "admin", "--bootstrap-service-name", "keystone",
             "--bootstrap-region-id", "RegionOne",
             "--bootstrap-public-url", "http://127.0.0.1:5000/v3"], env=env)
    assert r.returncode == 0, r.stderr
    assert "Config file not found" not in r.stderr
    # the database the config names got the admin (db_version reads that same database)
    r = run([alias, "db_version"], env=env)
    assert (r.returncode, r.stdout.strip()) == (0, "742c857f1dfb"), r.stderr
    # no configuration anywhere: oslo.config's warning, then the embedded default
    empty_home = tmp_path / "nohome"
    empty_home.mkdir()
    r = run([alias, "token_flush"], env={**os.environ, "HOME": str(empty_home)})
    if not Path("/etc/keystone/keystone.conf").exists():
        assert "Config file not found, using default configs." in r.stderr


def test_global_options(alias, tmp_path, database):
    conf = write_conf(tmp_path, database)
    confd = tmp_path / "conf.d"
    confd.mkdir()
    # --config-dir: its files are read after --config-file, later ones winning
    (confd / "10-debug.conf").write_text("[DEFAULT]\ndebug = true\n")
    r = run([alias, "--config-file", conf, "--config-dir", confd, "doctor"])
    assert "Debug mode should be set to False." in warnings(r.stdout)
    assert "Checking for debug mode is enabled..." in r.stdout
    # --nodebug wins over the file; --debug over the file's false
    r = run([alias, "--config-file", conf, "--config-dir", confd, "--nodebug", "doctor"])
    assert "Debug mode should be set to False." not in warnings(r.stdout)
    r = run([alias, "--config-file", conf, "-d", "doctor"])
    assert "Debug mode should be set to False." in warnings(r.stdout)
    # two --config-file: the later wins
    later = tmp_path / "later.conf"
    later.write_text("[DEFAULT]\ndebug = true\n")
    r = run([alias, "--config-file", conf, "--config-file", later, "doctor"])
    assert "Debug mode should be set to False." in warnings(r.stdout)
    # --log-file (relative to --log-dir): the log goes there, not to stderr
    logs = tmp_path / "logs"
    logs.mkdir()
    r = run([alias, "--config-file", conf, "--log-dir", logs, "--log-file=manage.log",
             "--debug", "--verbose", "--use-syslog", "--nouse-journal", "db_sync"])
    assert r.returncode == 0, r.stderr
    assert (logs / "manage.log").stat().st_size > 0
    # an option oslo.config does not know: argparse's usage error, exit 2
    r = run([alias, "--config-file", conf, "--no-such-option", "db_version"])
    assert r.returncode == 2
    assert "--no-such-option" in r.stderr
    r = run([alias, "no_such_verb"])
    assert r.returncode == 2


# --- compared with Python Keystone's keystone-manage ------------------------------------

def peer_manage() -> Path:
    path = servers.peer_venv() / "bin" / "keystone-manage"
    if not path.exists():
        pytest.fail(f"no peer keystone-manage at {path} (tests/interop/setup_venv.sh)")
    return path


def both(alias, conf, *args):
    ours = run([alias, "--config-file", conf, *args])
    theirs = run([peer_manage(), "--config-file", conf, *args])
    return ours, theirs


# Our checks that Keystone's doctor does not make (api-ref/DEVIATIONS.md).
OUR_EXTRA_SYMPTOMS = re.compile(r"^The database")


@SKIP_MIXED
@pytest.mark.mixed_fleet
def test_same_answers_as_python_keystone(alias, tmp_path):
    conf = write_conf(tmp_path, f"sqlite:///{tmp_path}/keystone.db", "[DEFAULT]\n")
    # a database never migrated
    ours, theirs = both(alias, conf, "db_version")
    assert (ours.returncode, ours.stdout) == (theirs.returncode, unlogged(theirs.stdout)) \
        == (0, "None\n")
    ours, theirs = both(alias, conf, "db_sync", "--check")
    assert ours.returncode == theirs.returncode == 2
    for line in ("Your database is not up to date. Your first step is to run "
                 "`keystone-manage db_sync --expand`.", "Expand: None (head: 742c857f1dfb)",
                 "Contract: None (head: c88cdce8f248)"):
        assert line in ours.stdout and line in theirs.stdout, line
    ours, theirs = both(alias, conf, "doctor")
    assert ours.returncode == theirs.returncode == 1
    extra = [w for w in warnings(ours.stdout) if w not in warnings(theirs.stdout)]
    assert warnings(theirs.stdout) == [w for w in warnings(ours.stdout) if w not in extra]
    assert extra and all(OUR_EXTRA_SYMPTOMS.match(w) for w in extra), extra

    # migrated by keystone-rs: Python Keystone reads the same version
    assert run([alias, "--config-file", conf, "db_sync"]).returncode == 0
    ours, theirs = both(alias, conf, "db_version")
    assert (ours.returncode, ours.stdout) == (theirs.returncode, unlogged(theirs.stdout)) \
        == (0, "742c857f1dfb\n")
    ours, theirs = both(alias, conf, "db_sync", "--check")
    assert ours.returncode == theirs.returncode == 0
    for line in ("All db_sync commands are upgraded to the same version and up-to-date.",
                 "Expand: 742c857f1dfb (head: 742c857f1dfb)",
                 "Contract: c88cdce8f248 (head: c88cdce8f248)"):
        assert line in ours.stdout and line in theirs.stdout, line
    ours, theirs = both(alias, conf, "db_sync", "--migrate")
    assert (ours.returncode, ours.stdout) == (theirs.returncode, unlogged(theirs.stdout))
    ours, theirs = both(alias, conf, "db_sync", "--contract")
    assert ours.returncode == theirs.returncode == 0
    ours, theirs = both(alias, conf, "db_sync", "1")
    assert ours.returncode == theirs.returncode == 1
    assert "Specifying a version is no longer supported" in ours.stderr
    assert "Specifying a version is no longer supported" in theirs.stdout + theirs.stderr

    # no keys yet, debug on: the same symptoms, in the same order, same texts
    conf.write_text(conf.read_text().replace("debug = false", "debug = true"))
    ours, theirs = both(alias, conf, "doctor")
    assert ours.returncode == theirs.returncode == 1
    assert warnings(ours.stdout) == warnings(theirs.stdout)
    assert "Fernet key repository is empty." in warnings(ours.stdout)
    # the whole text, docstring layout included (the --debug progress lines aside)
    strip = lambda out: "\n".join(l for l in unlogged(out).splitlines()
                                   if not l.startswith("Checking"))
    assert strip(ours.stdout) == strip(theirs.stdout)

    # keys made by keystone-rs: neither complains about them any more
    for verb in ("fernet_setup", "credential_setup"):
        assert run([alias, "--config-file", conf, verb, *OWNER]).returncode == 0
    ours, theirs = both(alias, conf, "doctor")
    assert ours.returncode == theirs.returncode == 1
    assert warnings(ours.stdout) == warnings(theirs.stdout) == [
        "SQLite is not recommended for production deployments.",
        "Debug mode should be set to False.",
    ]
    # one repository for both: the same security warning
    conf.write_text(conf.read_text().replace(f"{tmp_path}/credential-keys",
                                             f"{tmp_path}/fernet-keys"))
    ours, theirs = both(alias, conf, "doctor")
    assert warnings(ours.stdout) == warnings(theirs.stdout)
    assert "Key repositories for encryption should be unique." in warnings(ours.stdout)


@SKIP_MIXED
@pytest.mark.mixed_fleet
def test_mapping_engine_as_python_keystone(alias, tmp_path):
    conf = write_conf(tmp_path, f"sqlite:///{tmp_path}/keystone.db")
    rules = tmp_path / "rules.json"
    rules.write_text("""{"rules": [{"local": [{"user": {"name": "{0}", "email": "{1}"}}],
        "remote": [{"type": "ASDF_USER"}, {"type": "ASDF_EMAIL"},
                   {"type": "ASDF_ORG", "any_one_of": ["eng", "ops"]}]}]}""")
    assertion = tmp_path / "input.txt"
    assertion.write_text("ASDF_USER: alice\nASDF_EMAIL: alice@example.com\nASDF_ORG: eng\n"
                         "OTHER: x\n")
    for extra in ([], ["--prefix", "ASDF_"]):
        ours, theirs = both(alias, conf, "mapping_engine", "--rules", rules,
                            "--input", assertion, *extra)
        assert (ours.returncode, ours.stdout) == (theirs.returncode, unlogged(theirs.stdout)), \
            extra
        assert ours.returncode == 0
    # --engine-debug: the rules, the assertion and the result printed alike (Keystone's
    # debug log lines, several lines long, interleave with them on its stdout)
    ours, theirs = both(alias, conf, "mapping_engine", "--rules", rules, "--input", assertion,
                        "--engine-debug")
    assert ours.returncode == theirs.returncode == 0
    blocks = lambda out: (re.findall(r"^Using (?:Rules|Assertion):\n\{.*?\n\}$", out, re.S | re.M),
                          out[out.rindex('{\n  "user"'):])
    assert blocks(ours.stdout) == blocks(theirs.stdout)
    assert len(blocks(ours.stdout)[0]) == 2
    # a broken assertion line and a rules file that is not JSON: both refuse, exit 1
    bad = tmp_path / "bad.txt"
    bad.write_text("ASDF_USER alice\n")
    ours, theirs = both(alias, conf, "mapping_engine", "--rules", rules, "--input", bad)
    assert ours.returncode == theirs.returncode == 1
    message = f"assertion file {bad} at line 1 expected 'key: value' but found 'ASDF_USER alice'"
    assert message in ours.stderr and message in theirs.stderr
    not_json = tmp_path / "rules.txt"
    not_json.write_text("rules: no")
    ours, theirs = both(alias, conf, "mapping_engine", "--rules", not_json,
                        "--input", assertion)
    assert ours.returncode == theirs.returncode == 1
    assert f"Error while parsing rules {not_json}" in ours.stderr
    assert f"Error while parsing rules {not_json}" in theirs.stderr
    # the whole engine: groups by id and by name (multi-valued), projects, a local user
    groups = tmp_path / "groups.json"
    groups.write_text("""[{"local": [{"user": {"name": "{0}", "type": "local",
                                              "domain": {"name": "Default"}}},
                                     {"group": {"id": "g"}},
                                     {"groups": "{1}", "domain": {"id": "default"}},
                                     {"projects": [{"name": "p-{0}",
                                                    "roles": [{"name": "member"}]}]}],
        "remote": [{"type": "ASDF_USER"}, {"type": "ASDF_GROUPS"}]}]""")
    with_groups = tmp_path / "with_groups.txt"
    with_groups.write_text("ASDF_USER: alice\nASDF_GROUPS: devs;ops\n")
    ours, theirs = both(alias, conf, "mapping_engine", "--rules", groups,
                        "--input", with_groups)
    assert (ours.returncode, ours.stdout) == (theirs.returncode, unlogged(theirs.stdout))
    assert ours.returncode == 0 and '"name": "ops"' in ours.stdout


def test_other_verbs(alias, tmp_path, database):
    conf = write_conf(tmp_path, database)
    assert run([alias, "--config-file", conf, "db_sync", "--expand"]).returncode == 0
    assert run([alias, "--config-file", conf, "db_sync", "--check"]).returncode == 0
    # token_flush: the deprecated no-op
    r = run([alias, "--config-file", conf, "token_flush"])
    assert r.returncode == 0
    assert "The token_flush command is deprecated" in r.stdout
    # token_setup / receipt_setup make their key repositories
    assert run([alias, "--config-file", conf, "token_setup", *OWNER]).returncode == 0
    assert (tmp_path / "fernet-keys" / "1").exists()
    assert run([alias, "--config-file", conf, "receipt_setup", *OWNER]).returncode == 0
    assert run([alias, "--config-file", conf, "receipt_rotate", *OWNER]).returncode == 0
    assert sorted(p.name for p in (tmp_path / "receipt-keys").iterdir()) == ["0", "1", "2"]
    # reset_last_active: asks first; "n" aborts, --force writes
    r = run([alias, "--config-file", conf, "reset_last_active"], stdin="n\n")
    assert r.returncode == 1 and "reset_last_active aborted." in r.stderr
    assert "Are you sure you want to continue [y/N]?" in r.stdout
    r = run([alias, "--config-file", conf, "bootstrap", "--bootstrap-password", "pw"])
    assert r.returncode == 0, r.stderr
    if database.startswith("sqlite"):
        db = sqlite3.connect(str(tmp_path / "keystone.db"))
        db.execute("UPDATE user SET last_active_at = NULL")
        db.commit()
    r = run([alias, "--config-file", conf, "reset_last_active", "--force"])
    assert r.returncode == 0, r.stderr
    if database.startswith("sqlite"):
        rows = db.execute("SELECT last_active_at FROM user").fetchall()
        assert rows and all(v is not None for (v,) in rows)
    # a deployment with nothing wrong: doctor is silent and exits 0 (SQLite aside)
    assert run([alias, "--config-file", conf, "credential_setup", *OWNER]).returncode == 0
    r = run([alias, "--config-file", conf, "doctor"])
    if database.startswith("sqlite"):
        assert (r.returncode, warnings(r.stdout)) == (
            1, ["SQLite is not recommended for production deployments."])
    else:
        assert (r.returncode, r.stdout) == (0, ""), r.stdout
    # [token] expiration = 0: every token would be born expired
    conf.write_text(conf.read_text() + "[token]\nexpiration = 0\n")
    r = run([alias, "--config-file", conf, "doctor"])
    assert r.returncode == 1
    assert "`keystone.conf [token] expiration` is 0." in warnings(r.stdout)
    conf.write_text(conf.read_text().replace("[token]\nexpiration = 0\n", ""))
    # the verbs keystone-rs does not carry out: exit 1 and why
    for verb in ("project_setup", "user_setup", "saml_idp_metadata"):
        r = run([alias, "--config-file", conf, verb, "--all"])
        assert r.returncode == 1, verb
        assert f"keystone-manage {verb}: not supported by keystone-rs: " in r.stderr
    # --contract before expand on a fresh database: Keystone's refusal
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    conf2 = write_conf(fresh, f"sqlite:///{fresh}/keystone.db")
    r = run([alias, "--config-file", conf2, "db_sync", "--contract"])
    assert r.returncode == 1
    assert "You are attempting to upgrade contract ahead of expand." in r.stderr


_CLEANUP: list[Path] = []


def request_cleanup(path: Path) -> None:
    _CLEANUP.append(path)


@pytest.fixture(autouse=True)
def _remove_requested_dirs():
    yield
    while _CLEANUP:
        shutil.rmtree(_CLEANUP.pop(), ignore_errors=True)


# --- serve on broken deployments ---------------------------------------------------------

def ready_deployment(binary: Path, workdir: Path, connection: str, extra: str = "") -> Path:
    conf = write_conf(workdir, connection, extra)
    for verb in ("db_sync", "fernet_setup", "credential_setup"):
        r = run([binary, "manage", "--config-file", conf, verb])
        assert r.returncode == 0, r.stderr
    return conf


def serve(binary: Path, conf: Path, env=None) -> subprocess.CompletedProcess:
    return run([binary, "serve", "--config-file", conf, "--bind",
                f"127.0.0.1:{servers.free_port()}"], env=env, timeout=90)


def refused(r: subprocess.CompletedProcess, *expected: str) -> None:
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])
    assert "cannot serve: this deployment is not ready." in r.stderr
    for text in expected:
        assert text in r.stderr, (text, r.stderr[-2000:])
    assert "500" not in r.stderr and "unexpected error" not in r.stderr


def test_serve_without_fernet_keys(tmp_path, database):
    binary = servers.keystone_rs_binary()
    conf = ready_deployment(binary, tmp_path, database)
    subprocess.run(["rm", "-rf", str(tmp_path / "fernet-keys")], check=True)
    refused(serve(binary, conf),
            f"Fernet token key repository {tmp_path}/fernet-keys ([fernet_tokens] "
            "key_repository) does not exist.", "keystone-manage fernet_setup")
    # present but empty
    (tmp_path / "fernet-keys").mkdir()
    refused(serve(binary, conf), "holds no keys", "keystone-manage fernet_setup")


def test_serve_with_unreadable_key_repository(tmp_path):
    binary = servers.keystone_rs_binary()
    # pytest's own temp root is private to its user: another user needs a path it can walk
    base = Path(tempfile.mkdtemp(prefix="ksrs-unreadable-"))
    request_cleanup(base)
    work = base / "deploy"
    work.mkdir()
    tmp_path = base
    conf = ready_deployment(binary, work, f"sqlite:///{work}/keystone.db")
    keys = work / "fernet-keys"
    env = None
    if os.geteuid() == 0:
        # root reads everything: serve as nobody, who can read all but the key directory
        for p in (tmp_path, work):
            p.chmod(0o777)
        for p in work.iterdir():
            p.chmod(0o777 if p.is_dir() else 0o666)
        keys.chmod(0o700)
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               str(binary), "serve", "--config-file", str(conf), "--bind",
               f"127.0.0.1:{servers.free_port()}"]
        r = run(cmd, timeout=90)
    else:
        keys.chmod(0o000)
        try:
            r = serve(binary, conf, env=env)
        finally:
            keys.chmod(0o700)
    refused(r, f"Fernet token key repository {keys} ([fernet_tokens] key_repository) "
               "cannot be read by this process (Permission denied")


def test_serve_on_unmigrated_database(tmp_path, database):
    binary = servers.keystone_rs_binary()
    conf = write_conf(tmp_path, database)
    for verb in ("fernet_setup", "credential_setup"):
        assert run([binary, "manage", "--config-file", conf, verb]).returncode == 0
    if database.startswith("sqlite"):
        # no file at all: not created by serve
        refused(serve(binary, conf), "does not exist: it was never migrated.",
                "To fix: keystone-manage db_sync")
        assert not (tmp_path / "keystone.db").exists()
        (tmp_path / "keystone.db").touch()
    refused(serve(binary, conf), "The database schema is not at the level this keystone-rs "
            "expects:", "migration(s) pending", "To fix: keystone-manage db_sync")


def test_serve_on_unreachable_database(tmp_path):
    binary = servers.keystone_rs_binary()
    port = servers.free_port()
    conf = write_conf(tmp_path, f"postgresql://keystone:s3cret@127.0.0.1:{port}/keystone")
    for verb in ("fernet_setup", "credential_setup"):
        assert run([binary, "manage", "--config-file", conf, verb]).returncode == 0
    r = serve(binary, conf)
    refused(r, f"The database ([database] connection = postgresql://keystone:***@127.0.0.1:"
               f"{port}/keystone) cannot be reached", "check [database] connection")
    assert "s3cret" not in r.stderr


def test_serve_with_missing_certificate(tmp_path, database):
    binary = servers.keystone_rs_binary()
    conf = ready_deployment(binary, tmp_path, database,
                            f"[ssl]\ncertfile = {tmp_path}/missing-cert.pem\n")
    refused(serve(binary, conf), f"[ssl] certfile {tmp_path}/missing-cert.pem",
            "point [ssl] certfile")


def test_serve_with_bad_policy_file(tmp_path, database):
    binary = servers.keystone_rs_binary()
    policy = tmp_path / "policy.yaml"
    policy.write_text('"identity:list_projects": "role:reader"\n  - not a rule\n')
    conf = ready_deployment(binary, tmp_path, database,
                            f"[oslo_policy]\npolicy_file = {policy}\n")
    r = serve(binary, conf)
    refused(r, f"The policy cannot be loaded: policy file {policy}: at line 2",
            "keystone-manage policy_dump")


def test_doctor_runs_the_start_up_checks(alias, tmp_path, database):
    conf = write_conf(tmp_path, database, f"[ssl]\ncertfile = {tmp_path}/missing.pem\n")
    r = run([alias, "--config-file", conf, "doctor"])
    assert r.returncode == 1
    found = warnings(r.stdout)
    assert any(w.startswith("TLS cannot be set up: [ssl] certfile") for w in found), found
    assert any(w.startswith("The database") for w in found), found
    assert "Fernet key repository is empty." in found


# --- /healthcheck --------------------------------------------------------------------------

def get(url: str, method: str = "GET") -> tuple[int, str]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_healthcheck_reports_a_schema_behind(tmp_path):
    binary = servers.keystone_rs_binary()
    server = servers.KeystoneRs(binary, tmp_path, extra_conf="[healthcheck]\ndetailed = false\n")
    server.prepare()
    server.start()
    try:
        assert get(f"{server.base_url}/healthcheck") == (200, "OK")
        # the database is restored from before the last migration (its record is gone)
        db = sqlite3.connect(str(tmp_path / "keystone.db"))
        (last,) = db.execute("SELECT MAX(version) FROM __diesel_schema_migrations").fetchone()
        db.execute("DELETE FROM __diesel_schema_migrations WHERE version = ?", (last,))
        db.commit()
        db.close()
        assert get(f"{server.base_url}/healthcheck") == (503, "DATABASE SCHEMA NOT CURRENT")
        assert get(f"{server.base_url}/healthcheck", "HEAD")[0] == 503
    finally:
        server.stop()


# --- mapping_populate / mapping_purge, against Python Keystone's ---------------------------

def id_mappings(db: Path) -> set[tuple]:
    with closing(sqlite3.connect(db)) as c:
        return set(c.execute("SELECT public_id, domain_id, local_id, entity_type "
                             "FROM id_mapping"))


def sql(db: Path, statement: str, *rows: tuple) -> None:
    """Writes rows and closes the connection, so that the database file alone (no WAL
    beside it) holds them when it is copied."""
    with closing(sqlite3.connect(db)) as c, c:
        for row in rows:
            c.execute(statement, row)


@SKIP_MIXED
@pytest.mark.mixed_fleet
def test_mapping_populate_and_purge_as_python_keystone(alias, tmp_path):
    """On one LDAP domain (a real slapd, test_ldap.py's directory): both mapping_populate
    write the same id_mapping rows, and each mapping_purge option leaves the same rows as
    Keystone's; bad options are refused by both."""
    import hashlib

    import test_ldap
    venv = servers.peer_venv()
    if run([venv / "bin" / "python", "-c", "import ldap, ldappool"]).returncode != 0:
        pytest.fail(f"{venv} lacks python-ldap/ldappool (peer-requirements.txt)")
    slapd_dir = tmp_path / "slapd"
    slapd_dir.mkdir()
    slapd, url = test_ldap.start_slapd(slapd_dir)
    try:
        domains = tmp_path / "domains"
        domains.mkdir()
        identity = (f"[identity]\ndomain_specific_drivers_enabled = true\n"
                    f"domain_config_dir = {domains}\n")
        snapshot = tmp_path / "snapshot.db"
        conf = write_conf(tmp_path, f"sqlite:///{snapshot}", identity)
        # (Keystone's keystone-manage loads the token and receipt providers: keys needed.)
        for args in (["db_sync"], ["bootstrap", "--bootstrap-password", "pw"],
                     ["fernet_setup", *OWNER], ["receipt_setup", *OWNER],
                     ["credential_setup", *OWNER]):
            r = run([alias, "--config-file", conf, *args])
            assert r.returncode == 0, r.stderr
        ldap_domain = "d" * 32
        other_domain = "e" * 32
        sql(snapshot, "INSERT INTO project (id, name, extra, description, enabled, domain_id, "
            "parent_id, is_domain) VALUES (?, ?, '{}', '', 1, '<<keystone.domain.root>>', "
            "NULL, 1)", (ldap_domain, "ldapdom"), (other_domain, "otherdom"))
        (domains / "keystone.ldapdom.conf").write_text(
            f"[identity]\ndriver = ldap\n[ldap]\nurl = {url}\nsuffix = {test_ldap.SUFFIX}\n"
            f"user = cn=admin,{test_ldap.SUFFIX}\npassword = admin-secret\n"
            "user_name_attribute = sn\ngroup_name_attribute = ou\n")
        # Two deployments on copies of one database: ours and Keystone's.
        dbs = {"ours": tmp_path / "ours.db", "theirs": tmp_path / "theirs.db"}
        confs = {side: tmp_path / f"{side}.conf" for side in dbs}
        for side, db in dbs.items():
            confs[side].write_text(conf.read_text().replace(str(snapshot), str(db)))
        commands = {"ours": [alias], "theirs": [peer_manage()]}

        def fresh(source: Path = snapshot) -> None:
            for db in dbs.values():
                shutil.copy(source, db)

        def each(*args):
            return {side: run([*commands[side], "--config-file", confs[side], *args])
                    for side in dbs}

        fresh()
        out = each("mapping_populate", "--domain-name", "ldapdom")
        for side, r in out.items():
            assert r.returncode == 0, f"{side}: {r.stdout}{r.stderr}"
        populated = id_mappings(dbs["ours"])
        assert populated == id_mappings(dbs["theirs"])
        assert {(local, kind) for _, domain, local, kind in populated} == \
            {("alice", "user"), ("bob", "user")}
        assert all(public == hashlib.sha256(f"{domain}{kind}{local}".encode()).hexdigest()
                   for public, domain, local, kind in populated)
        # Again: nothing new. A SQL domain: nothing to map. No such domain: Keystone's line.
        for args in (["--domain-name", "ldapdom"], ["--domain-name", "Default"]):
            out = each("mapping_populate", *args)
            assert [r.returncode for r in out.values()] == [0, 0]
            assert id_mappings(dbs["ours"]) == id_mappings(dbs["theirs"]) == populated
        out = each("mapping_populate", "--domain-name", "nope")
        assert [(r.returncode, unlogged(r.stdout)) for r in out.values()] == \
            [(0, "Invalid domain name: nope\n")] * 2

        # A populated database with a group mapping and another domain's mapping besides.
        sql(dbs["ours"], "INSERT INTO id_mapping VALUES (?, ?, ?, ?)",
            *((hashlib.sha256(f"{domain_id}{kind}{local}".encode()).hexdigest(), domain_id,
               local, kind) for domain_id, local, kind in ((ldap_domain, "devs", "group"),
                                                           (other_domain, "carol", "user"))))
        populated_db = tmp_path / "populated.db"
        shutil.copy(dbs["ours"], populated_db)
        bob = next(p for p, _, local, _ in populated if local == "bob")
        for options in (["--all"], ["--local-id", "alice"], ["--public-id", bob],
                        ["--type", "group"], ["--type", "user"], ["--domain-name", "ldapdom"],
                        ["--domain-name", "otherdom", "--type", "user"],
                        ["--domain-name", "ldapdom", "--local-id", "carol"]):
            fresh(populated_db)
            out = each("mapping_purge", *options)
            for side, r in out.items():
                assert r.returncode == 0, f"{side} {options}: {r.stdout}{r.stderr}"
            left = id_mappings(dbs["ours"])
            assert left == id_mappings(dbs["theirs"]), options
            assert left != id_mappings(populated_db) or options[-1] == "carol", options
        # Refusals: no option, --all with another, an unknown domain, a bad type.
        fresh(populated_db)
        for options, code, message in (
                ([], 1, "At least one option must be provided"),
                (["--all", "--type", "user"], 1, "--all option cannot be mixed with other options"),
                (["--domain-name", "nope"], 1, None),
                (["--type", "role"], 2, "'role'")):
            out = each("mapping_purge", *options)
            for side, r in out.items():
                assert r.returncode == code, f"{side} {options}: {r.stdout}{r.stderr}"
                if message:
                    assert message in r.stdout + r.stderr, f"{side} {options}"
            assert id_mappings(dbs["ours"]) == id_mappings(populated_db)
    finally:
        slapd.kill()
        slapd.wait()
