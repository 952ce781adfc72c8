"""Start and stop the Keystone servers the interop tests talk to.

Standard library only (plus a database driver when a scratch PostgreSQL/MariaDB database
is asked for), so that tools/tempest.sh can use it from any Python 3.11:

    python3 tests/interop/servers.py up WORKDIR     # prints the server's base URL
    python3 tests/interop/servers.py down WORKDIR

`KeystoneRs` prepares and runs keystone-rs the way an operator would (db_sync,
fernet_setup, bootstrap, serve); `PythonKeystone` does the same with upstream Keystone's
keystone-manage and gunicorn, for the mixed-fleet test.
"""

from __future__ import annotations

import contextlib
import getpass
import grp
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# What `bootstrap` creates; the tests log in with these.
ADMIN_USER = "admin"
ADMIN_PASSWORD = "secretadmin"
ADMIN_PROJECT = "admin"
ADMIN_ROLE = "admin"
DOMAIN_ID = "default"
REGION = "RegionOne"

# Log directories of every server set up in this process, for the failure summary.
STARTED_LOG_DIRS: list[Path] = []


def keystone_rs_binary() -> Path:
    """KEYSTONE_RS_BIN, else the debug build in the cargo target directory."""
    if os.environ.get("KEYSTONE_RS_BIN"):
        return Path(os.environ["KEYSTONE_RS_BIN"]).resolve()
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    return target / "debug" / "keystone-rs"


def peer_venv() -> Path:
    """The venv holding upstream Keystone 30.0.0; same choice as setup_venv.sh."""
    if os.environ.get("INTEROP_PEER_VENV"):
        return Path(os.environ["INTEROP_PEER_VENV"])
    shared = Path("/opt/peer/venv")
    if (shared / "bin" / "keystone-manage").exists():
        return shared
    return REPO / "target" / "peer-venv"


def free_port() -> int:
    # The kernel picks an unused port; it stays free long enough for the server to bind.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(base_url: str, proc: subprocess.Popen | None, log: Path,
                       timeout: float = 60.0, ca_file: Path | None = None) -> None:
    """Polls GET /v3 until it answers 200; fails early if the process died. `ca_file`
    verifies an https server's certificate."""
    deadline = time.monotonic() + timeout
    last = ""
    context = None
    if ca_file is not None:
        import ssl
        context = ssl.create_default_context(cafile=str(ca_file))
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before serving "
                               f"{base_url}/v3\n{tail(log)}")
        try:
            with urllib.request.urlopen(f"{base_url}/v3", timeout=5,
                                        context=context) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            last = str(e)
        time.sleep(0.2)
    raise RuntimeError(f"no answer from {base_url}/v3 within {timeout}s ({last})\n{tail(log)}")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "".join(path.read_text(errors="replace").splitlines(True)[-lines:])
    except OSError:
        return f"(no log at {path})"


def stop_process(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


DEFAULT_AUTH_METHODS = "external,password,token,oauth1,mapped,application_credential,ec2credential"


def keystone_conf(workdir: Path, connection: str, key_repository: Path,
                  auth_methods: str = DEFAULT_AUTH_METHODS) -> str:
    """A keystone.conf both implementations read: the options the peer deployment
    (shared/tools/peer/setup.sh) uses, so both enforce the same policy defaults.
    `auth_methods` is `[auth] methods` (the MFA tests add totp)."""
    return f"""[DEFAULT]
log_file = {workdir}/log/keystone.log
debug = false
[database]
connection = {connection}
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = {key_repository}
max_active_keys = 3
[fernet_receipts]
key_repository = {key_repository}
[credential]
key_repository = {workdir}/credential-keys
[auth]
methods = {auth_methods}
[oslo_policy]
enforce_scope = true
enforce_new_defaults = true
"""


def jws_conf(private: Path, public: Path, algorithm: str = "ES256") -> str:
    """keystone.conf text for `[token] provider = jws` with these key repositories."""
    return (f"[token]\nprovider = jws\n[jwt_tokens]\njws_algorithm = {algorithm}\n"
            f"jws_accepted_algorithms = {algorithm}\n"
            f"jws_private_key_repository = {private}\njws_public_key_repository = {public}\n")


def rs_create_jws_keypair(workdir: Path, algorithm: str = "ES256",
                          *extra: str) -> subprocess.CompletedProcess:
    """`keystone-rs manage create_jws_keypair` in `workdir` (it writes private.pem and
    public.pem to the current directory, as keystone-manage does)."""
    conf = workdir / "keypair.conf"
    conf.write_text(f"[jwt_tokens]\njws_algorithm = {algorithm}\n")
    return subprocess.run([str(keystone_rs_binary()), "manage", "--config-file", str(conf),
                           "create_jws_keypair", *extra], cwd=workdir, capture_output=True,
                          text=True, timeout=60)


def jws_deployment(workdir: Path) -> str:
    """A JWS key pair in `workdir`/jws-keys/{private,public} and the keystone.conf text
    naming it (INTEROP_TOKEN_PROVIDER=jws runs the interop tests on JWS tokens)."""
    private, public = workdir / "jws-keys" / "private", workdir / "jws-keys" / "public"
    private.mkdir(parents=True)
    public.mkdir(parents=True)
    made = rs_create_jws_keypair(private)
    if made.returncode != 0:
        raise RuntimeError(f"create_jws_keypair failed: {made.stderr}")
    (private / "public.pem").rename(public / "public.pem")
    return jws_conf(private, public)


def bootstrap_args(base_url: str) -> list[str]:
    """keystone-manage bootstrap's flags, identical for both implementations."""
    endpoint = f"{base_url}/v3"
    return ["bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
            "--bootstrap-username", ADMIN_USER, "--bootstrap-project-name", ADMIN_PROJECT,
            "--bootstrap-role-name", ADMIN_ROLE, "--bootstrap-service-name", "keystone",
            "--bootstrap-region-id", REGION, "--bootstrap-public-url", endpoint,
            "--bootstrap-internal-url", endpoint, "--bootstrap-admin-url", endpoint]


def run_logged(cmd: list[str], log: Path, env: dict | None = None) -> None:
    """Runs a setup command, appending its output to `log`; raises with the output on failure."""
    result = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=300)
    # the command line as logged: bootstrap's password masked
    shown = " ".join("***" if prev == "--bootstrap-password" else arg
                     for prev, arg in zip([""] + cmd, cmd))
    with log.open("a") as f:
        f.write(f"$ {shown}\n{result.stdout}\n")
    if result.returncode != 0:
        raise RuntimeError(f"{shown}\nexited {result.returncode}:\n{result.stdout[-4000:]}")


class ScratchDatabase:
    """A uniquely named, throwaway database on the PostgreSQL or MariaDB server that
    KEYSTONE_TEST_DATABASE_URL (or KEYSTONE_TEST_DATABASE, the Rust tests' name) points at.
    The URL's database name is only a prefix: `…/test` becomes `…/test_interop_<hex>`."""

    def __init__(self, server_url: str):
        self.server_url = server_url
        parts = urllib.parse.urlsplit(server_url)
        self.dialect = parts.scheme.split("+")[0].lower()
        if self.dialect not in ("postgresql", "postgres", "mysql", "mariadb"):
            raise ValueError(f"scratch databases need PostgreSQL or MariaDB, not {parts.scheme}")
        prefix = parts.path.lstrip("/") or "keystone"
        self.name = f"{prefix}_interop_{secrets.token_hex(4)}"
        self._parts = parts
        self.url = urllib.parse.urlunsplit(parts._replace(path="/" + self.name))

    @classmethod
    def from_env(cls) -> "ScratchDatabase | None":
        url = (os.environ.get("KEYSTONE_TEST_DATABASE_URL")
               or os.environ.get("KEYSTONE_TEST_DATABASE"))
        if not url or url.startswith("sqlite"):
            return None
        return cls(url)

    def _admin_connection(self):
        p = self._parts
        user = urllib.parse.unquote(p.username or "")
        password = urllib.parse.unquote(p.password or "")
        if self.dialect in ("postgresql", "postgres"):
            import psycopg2  # from the interop venv
            conn = psycopg2.connect(host=p.hostname or "127.0.0.1", port=p.port or 5432,
                                    user=user or "postgres", password=password,
                                    dbname="postgres")
            conn.autocommit = True
            return conn
        import pymysql  # from the interop venv
        return pymysql.connect(host=p.hostname or "127.0.0.1", port=p.port or 3306,
                               user=user or "root", password=password, autocommit=True)

    def create(self) -> None:
        conn = self._admin_connection()
        try:
            with conn.cursor() as cur:
                if self.dialect in ("postgresql", "postgres"):
                    cur.execute(f'CREATE DATABASE "{self.name}" ENCODING \'UTF8\'')
                else:
                    cur.execute(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")
        finally:
            conn.close()

    def drop(self) -> None:
        conn = self._admin_connection()
        try:
            with conn.cursor() as cur:
                if self.dialect in ("postgresql", "postgres"):
                    # FORCE: a pooled connection of a just-killed server may linger briefly.
                    cur.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                else:
                    cur.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
        finally:
            conn.close()


class KeystoneRs:
    """keystone-rs in `workdir`, listening on 127.0.0.1:`port`."""

    def __init__(self, binary: Path, workdir: Path, port: int | None = None,
                 connection: str | None = None, key_repository: Path | None = None,
                 extra_conf: str = "", ca_file: Path | None = None,
                 auth_methods: str = DEFAULT_AUTH_METHODS):
        """`extra_conf` is appended to keystone.conf; with an `[ssl]` section in it,
        `ca_file` is the CA that signed the server's certificate (https)."""
        self.auth_methods = auth_methods
        self.binary = Path(binary)
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.extra_conf = extra_conf
        self.ca_file = ca_file
        scheme = "https" if ca_file else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.port}"
        self.connection = connection or f"sqlite:///{self.workdir}/keystone.db"
        self.key_repository = key_repository or self.workdir / "fernet-keys"
        self.conf = self.workdir / "keystone.conf"
        self.log = self.workdir / "log" / "keystone-rs.log"
        self.proc: subprocess.Popen | None = None
        STARTED_LOG_DIRS.append(self.log.parent)

    def write_config(self) -> None:
        if not self.binary.is_file():
            raise FileNotFoundError(
                f"keystone-rs binary not found at {self.binary}: build it (cargo build) "
                "or set KEYSTONE_RS_BIN")
        (self.workdir / "log").mkdir(parents=True, exist_ok=True)
        self.conf.write_text(keystone_conf(self.workdir, self.connection, self.key_repository,
                                           self.auth_methods)
                             + self.extra_conf)

    def manage(self, *args: str) -> None:
        run_logged([str(self.binary), "manage", "--config-file", str(self.conf), *args],
                   self.log)

    def prepare(self) -> None:
        """A fresh deployment, as the README tells operators to make one."""
        self.write_config()
        self.manage("db_sync")
        self.manage("fernet_setup")
        self.manage("credential_setup")
        self.manage(*bootstrap_args(self.base_url))

    def start(self, detach: bool = False) -> None:
        cmd = [str(self.binary), "serve", "--config-file", str(self.conf),
               "--bind", f"127.0.0.1:{self.port}"]
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=detach)
        try:
            wait_until_serving(self.base_url, self.proc, self.log, ca_file=self.ca_file)
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        stop_process(self.proc)


# keystone-rs beside Python Keystone in tests that compare answers right after the peer's
# writes, which move no change marker (api-ref/DEVIATIONS.md, README "Caching").
NO_VALIDATION_CACHE = "[validation_cache]\nenabled = false\n"


@contextlib.contextmanager
def mixed_fleet(python_dir: Path, rs_dir: Path, *, python_conf: str = "", rs_conf: str = "",
                auth_methods: str = DEFAULT_AUTH_METHODS):
    """Python Keystone (from the peer venv) makes a deployment in `python_dir`; keystone-rs
    in `rs_dir` serves the same SQLite database with the same Fernet keys, its own tables
    added by its db_sync. Both serve inside the block, `(python, rs)`, and are stopped after.
    `*_conf` is appended to each one's keystone.conf."""
    python = PythonKeystone(peer_venv(), python_dir, extra_conf=python_conf,
                            auth_methods=auth_methods)
    python.prepare()
    rs = KeystoneRs(keystone_rs_binary(), rs_dir, connection=f"sqlite:///{python.db_path}",
                    key_repository=python.key_repository, extra_conf=rs_conf,
                    auth_methods=auth_methods)
    try:
        python.start()
        rs.write_config()
        rs.manage("db_sync")
        rs.start()
        yield python, rs
    finally:
        rs.stop()
        python.stop()


class PythonKeystone:
    """Upstream Keystone from the peer venv, in `workdir`, served by gunicorn."""

    def __init__(self, venv: Path, workdir: Path, port: int | None = None,
                 extra_conf: str = "", auth_methods: str = DEFAULT_AUTH_METHODS):
        self.venv = Path(venv)
        self.auth_methods = auth_methods
        # appended to keystone.conf (e.g. a [cache] section)
        self.extra_conf = extra_conf
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.db_path = self.workdir / "keystone.db"
        self.key_repository = self.workdir / "fernet-keys"
        self.conf = self.workdir / "keystone.conf"
        self.log = self.workdir / "log" / "gunicorn.log"
        self.setup_log = self.workdir / "log" / "manage.log"
        self.proc: subprocess.Popen | None = None
        STARTED_LOG_DIRS.append(self.log.parent)

    @property
    def env(self) -> dict:
        return {**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(self.conf)}

    def manage(self, *args: str) -> None:
        run_logged([str(self.venv / "bin" / "keystone-manage"), "--config-file",
                    str(self.conf), *args], self.setup_log, env=self.env)

    def prepare(self) -> None:
        if not (self.venv / "bin" / "keystone-manage").exists():
            raise FileNotFoundError(f"no keystone-manage in {self.venv}: run "
                                    "tests/interop/setup_venv.sh or set INTEROP_PEER_VENV")
        for d in ("log", "fernet-keys", "credential-keys"):
            (self.workdir / d).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(keystone_conf(self.workdir, f"sqlite:///{self.db_path}",
                                           self.key_repository, self.auth_methods)
                             + self.extra_conf)
        owner = ["--keystone-user", getpass.getuser(),
                 "--keystone-group", grp.getgrgid(os.getgid()).gr_name]
        self.manage("db_sync")
        self.manage("fernet_setup", *owner)
        self.manage("credential_setup", *owner)
        self.manage(*bootstrap_args(self.base_url))

    def start(self) -> None:
        # oslo.config would parse gunicorn's argv and exit: give Keystone a clean argv.
        (self.workdir / "peer_wsgi.py").write_text(
            "import sys\nsys.argv = sys.argv[:1]\n"
            "from keystone.server import wsgi\n"
            "application = wsgi.initialize_public_application()\n")
        # One worker: SQLite behind several gunicorn workers answers "database is locked".
        cmd = [str(self.venv / "bin" / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{self.port}",
               "--access-logfile", "/dev/null", "--error-logfile", str(self.log),
               "--chdir", str(self.workdir), "peer_wsgi:application"]
        self.proc = subprocess.Popen(cmd, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_serving(self.base_url, self.proc, self.log, timeout=120)
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        stop_process(self.proc)


# --- command line, for tools/tempest.sh -------------------------------------------------

def cli_up(workdir: Path) -> None:
    """Prepares and starts keystone-rs detached; its state goes to WORKDIR/state.json."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = ScratchDatabase.from_env()
    if db:
        db.create()
    port = int(os.environ["KEYSTONE_PORT"]) if os.environ.get("KEYSTONE_PORT") else None
    server = KeystoneRs(keystone_rs_binary(), workdir, port=port,
                        connection=db.url if db else None)
    state = {"pid": None, "url": server.base_url, "scratch_db": db.server_url if db else None,
             "scratch_db_name": db.name if db else None}
    try:
        server.prepare()
        server.start(detach=True)
    except Exception:
        if db:
            db.drop()
        raise
    state["pid"] = server.proc.pid
    (workdir / "state.json").write_text(json.dumps(state))
    print(server.base_url)


def cli_down(workdir: Path) -> None:
    path = workdir / "state.json"
    if not path.exists():
        return
    state = json.loads(path.read_text())
    if state.get("pid"):
        try:
            os.kill(state["pid"], signal.SIGTERM)
            for _ in range(75):
                os.kill(state["pid"], 0)
                time.sleep(0.2)
            os.kill(state["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
    if state.get("scratch_db"):
        db = ScratchDatabase(state["scratch_db"])
        db.name = state["scratch_db_name"]
        db.drop()
    path.unlink()


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("up", "down"):
        print(f"usage: {argv[0]} up|down WORKDIR", file=sys.stderr)
        return 2
    workdir = Path(argv[2]).resolve()
    try:
        (cli_up if argv[1] == "up" else cli_down)(workdir)
    except (RuntimeError, FileNotFoundError, ValueError) as e:
        print(f"servers.py {argv[1]}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
