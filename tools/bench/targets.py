"""The servers under test: keystone-rs from its release binary, and the Python Keystone peer
(as shipped, and with the in-process cache operators would run), each on its own
127.0.0.1 port, prepared from scratch and stopped at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "interop"))
import servers as interop_servers  # noqa: E402  (the interop tests' launcher, reused)

SHARED_PEER_DIR = Path("/var/tmp/peer")  # the peer other helpers use; never ours
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"


class Database:
    """Where a server under test keeps its data: a SQLite file in its own dir (`server`
    None, the default), or a throwaway database of its own on a PostgreSQL or MariaDB
    server (the interop tests' `ScratchDatabase`: created by `create`, dropped by `drop`)."""

    def __init__(self, server: str | None):
        self.scratch = interop_servers.ScratchDatabase(server) if server else None
        self.created = False

    @property
    def backend(self) -> str:
        """sqlite, postgresql or mysql (MariaDB speaks MySQL's protocol)."""
        if self.scratch is None:
            return "sqlite"
        return "postgresql" if self.scratch.dialect.startswith("postgres") else "mysql"

    def url(self, sqlite_path: Path) -> str:
        """The `[database] connection` both implementations read. Python Keystone's
        SQLAlchemy needs the driver in the scheme (its default for `postgresql://` is
        psycopg 3 since SQLAlchemy 2.1, for `mysql://` MySQLdb; the bench installs
        psycopg2 and PyMySQL); keystone-rs ignores the `+driver` part."""
        if self.scratch is None:
            return f"sqlite:///{sqlite_path}"
        scheme = {"postgresql": "postgresql+psycopg2", "mysql": "mysql+pymysql"}[self.backend]
        return f"{scheme}://{self.scratch.url.split('://', 1)[1]}"

    def describe(self, sqlite_path: Path) -> str:
        if self.scratch is None:
            return f"SQLite {sqlite_path}"
        return f"{self.backend} database {self.scratch.name}"

    def create(self) -> None:
        if self.scratch is not None and not self.created:
            self.scratch.create()
            self.created = True

    def drop(self) -> None:
        if self.scratch is not None and self.created:
            self.scratch.drop()
            self.created = False


def server_version(server: str | None) -> str:
    """The database server's version string, for results.json (SQLite's library version
    without a server)."""
    if not server:
        import sqlite3
        return f"SQLite {sqlite3.sqlite_version}"
    conn = interop_servers.ScratchDatabase(server)._admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT version()")
            return str(cur.fetchone()[0])
    finally:
        conn.close()


def pinned(package: str) -> str:
    """`package==version` as requirements.txt pins it (one source for both venvs)."""
    for line in REQUIREMENTS.read_text().splitlines():
        if line.split("==")[0].strip().lower() == package.lower():
            return line.strip()
    raise RuntimeError(f"{package} is not pinned in {REQUIREMENTS}")


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def find_peer_tools() -> Path | None:
    """shared/tools/peer beside the main checkout, also when running from a git worktree."""
    candidates = [REPO.parent / "shared" / "tools" / "peer"]
    try:
        common = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--path-format=absolute",
             "--git-common-dir"], capture_output=True, text=True, timeout=10).stdout.strip()
        if common:
            candidates.append(Path(common).parent.parent / "shared" / "tools" / "peer")
    except (OSError, subprocess.SubprocessError):
        pass
    return next((c for c in candidates if (c / "setup.sh").is_file()), None)


def process_tree(root: int) -> list[int]:
    """A process and all its descendants (gunicorn's workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: ppid follows the last ')'
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def process_tree_rss_kib(root: int) -> int:
    """Resident memory of a process and all its descendants."""
    total = 0
    for pid in process_tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def process_tree_cpu_ticks(root: int) -> int:
    """User + system CPU time of a process tree, in clock ticks."""
    total = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total


def wait_until_idle(root: int, timeout: float = 30.0, interval: float = 0.2) -> float:
    """Waits until a server's process tree has (almost) stopped using CPU: the requests a
    finished load run left in flight are done. Without it, a warm-up's leftover work (a
    queue of bcrypt verifications, say) runs into the measured window, whose first
    completions then come late. Returns the seconds waited."""
    started = time.monotonic()
    hz = os.sysconf("SC_CLK_TCK")
    last = process_tree_cpu_ticks(root)
    while time.monotonic() - started < timeout:
        time.sleep(interval)
        now = process_tree_cpu_ticks(root)
        # under 5% of one core over the interval
        if (now - last) / hz < 0.05 * interval:
            break
        last = now
    return time.monotonic() - started


class RssSampler:
    """Samples a server's resident memory while a load runs; keeps the peak."""

    def __init__(self, root_pid: int, interval: float = 0.25):
        self.root_pid, self.interval = root_pid, interval
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.peak_kib = max(self.peak_kib, process_tree_rss_kib(self.root_pid))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class KeystoneRsTarget:
    name = "keystone-rs"

    def __init__(self, binary: Path, port: int, keep: bool, extra_conf: str = "",
                 database_server: str | None = None):
        self.binary, self.port, self.keep = binary, port, keep
        self.workdir = Path(tempfile.mkdtemp(prefix="keystone-rs-bench."))
        self.database = Database(database_server)
        self.server = interop_servers.KeystoneRs(
            binary, self.workdir, port=port, extra_conf=extra_conf,
            connection=self.database.url(self.workdir / "keystone.db"))
        self.base_url = self.server.base_url

    def describe(self) -> str:
        return f"{self.binary} ({self.database.describe(self.workdir / 'keystone.db')})"

    @property
    def database_url(self) -> str:
        return self.server.connection

    @property
    def key_repository(self) -> Path:
        return Path(self.server.key_repository)

    def prepare(self) -> None:
        if port_in_use(self.port):
            raise RuntimeError(f"127.0.0.1:{self.port} is already in use (--keystone-rs-port)")
        self.database.create()
        self.server.prepare()

    def start(self) -> None:
        self.server.start()

    def root_pid(self) -> int:
        assert self.server.proc is not None
        return self.server.proc.pid

    def stop(self) -> None:
        try:
            self.server.stop()
        finally:
            self.database.drop()
            if not self.keep:
                shutil.rmtree(self.workdir, ignore_errors=True)


class PeerTarget:
    """Python Keystone 30 under gunicorn, prepared by shared/tools/peer's own scripts. With
    a database server, setup.sh's SQLite deployment is moved to a scratch database of its
    own: `[database] connection` rewritten, then db_sync and bootstrap run again there
    (setup.sh hard-codes SQLite; its keys and the rest of its keystone.conf are kept)."""

    def __init__(self, name: str, tools: Path, peer_dir: Path, port: int, workers: int,
                 cache: bool, log_dir: Path, database_server: str | None = None):
        if peer_dir.resolve() == SHARED_PEER_DIR:
            raise RuntimeError(f"{peer_dir} is the peer other helpers use; pick another dir")
        self.name, self.tools, self.peer_dir = name, tools, peer_dir
        self.port, self.workers, self.cache = port, workers, cache
        self.base_url = f"http://127.0.0.1:{port}"
        self.setup_log = log_dir / f"{name}-setup.log"
        self.database = Database(database_server)
        self._setup: subprocess.Popen | None = None
        self._started = False

    def describe(self) -> str:
        cache = "in-process dogpile.cache.memory" if self.cache else "no cache"
        return (f"Python Keystone, gunicorn {self.workers} workers, {cache} ({self.peer_dir}, "
                f"{self.database.describe(self.sqlite_path)})")

    @property
    def sqlite_path(self) -> Path:
        return self.peer_dir / "keystone.db"  # what setup.sh configures

    @property
    def database_url(self) -> str:
        return self.database.url(self.sqlite_path)

    @property
    def key_repository(self) -> Path:
        return self.peer_dir / "fernet-keys"

    @property
    def env(self) -> dict:
        return {**os.environ, "PEER_DIR": str(self.peer_dir),
                "PEER_CACHE": "1" if self.cache else "0"}

    def prepare_async(self) -> None:
        """setup.sh takes most of a minute (db_sync); peers prepare side by side."""
        if port_in_use(self.port):
            raise RuntimeError(f"127.0.0.1:{self.port} is already in use (--peer-port)")
        self.setup_log.parent.mkdir(parents=True, exist_ok=True)
        with self.setup_log.open("w") as log:
            # a session of its own: stopping it stops its keystone-manage too
            self._setup = subprocess.Popen([str(self.tools / "setup.sh"), str(self.port)],
                                           env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, start_new_session=True)

    def venv_installed(self) -> bool:
        return (self.venv / "bin" / "keystone-manage").exists()

    def wait_setup(self) -> None:
        """setup.sh alone, without what follows it."""
        assert self._setup is not None
        if self._setup.wait(timeout=600) != 0:
            raise RuntimeError(f"{self.name}: setup.sh failed; see {self.setup_log}\n"
                               + interop_servers.tail(self.setup_log, 15))

    def wait_prepared(self) -> None:
        self.wait_setup()
        if self.database.scratch is not None:
            self._move_to_database()

    def _move_to_database(self) -> None:
        """setup.sh's deployment, on the scratch database instead of SQLite."""
        venv = self.venv
        driver = {"postgresql": ("psycopg2", "psycopg2-binary"),
                  "mysql": ("pymysql", "PyMySQL")}[self.database.backend]
        if subprocess.run([str(venv / "bin" / "python"), "-c", f"import {driver[0]}"],
                          capture_output=True).returncode != 0:
            interop_servers.run_logged([str(venv / "bin" / "pip"), "install", "-q",
                                        "--disable-pip-version-check", pinned(driver[1])],
                                       self.setup_log)
        self.database.create()
        conf = self.peer_dir / "keystone.conf"
        text, count = re.subn(r"^connection = .*$", f"connection = {self.database_url}",
                              conf.read_text(), count=1, flags=re.M)
        if count != 1:
            raise RuntimeError(f"{self.name}: no [database] connection in {conf}")
        conf.write_text(text)
        self.sqlite_path.unlink(missing_ok=True)
        env = {**self.env, "OS_KEYSTONE_CONFIG_FILES": str(conf)}
        manage = [str(venv / "bin" / "keystone-manage"), "--config-file", str(conf)]
        interop_servers.run_logged(manage + ["db_sync"], self.setup_log, env=env)
        # the same bootstrap setup.sh ran (servers.py's flags are setup.sh's)
        interop_servers.run_logged(manage + interop_servers.bootstrap_args(self.base_url),
                                   self.setup_log, env=env)

    @property
    def venv(self) -> Path:
        return Path("/opt/peer/venv")  # where setup.sh installs Keystone

    def start(self) -> None:
        self._started = True
        result = subprocess.run([str(self.tools / "start.sh"), str(self.port),
                                 str(self.workers)], env=self.env, capture_output=True,
                                text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{self.name}: start.sh failed:\n{result.stdout}{result.stderr}")

    def root_pid(self) -> int:
        return int((self.peer_dir / "gunicorn.pid").read_text().strip())

    def stop(self) -> None:
        try:
            self._stop_server()
        finally:
            self.database.drop()

    def _stop_server(self) -> None:
        if self._setup is not None and self._setup.poll() is None:
            # setup.sh and the keystone-manage it waits for (bash dies on SIGTERM at once,
            # leaving its child to finish a db_sync into a dir about to be recreated)
            os.killpg(self._setup.pid, signal.SIGTERM)
            self._setup.wait(timeout=30)
        if not self._started:
            return
        pid_file = self.peer_dir / "gunicorn.pid"
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        subprocess.run([str(self.tools / "stop.sh")], env=self.env, capture_output=True,
                       timeout=30)
        # stop.sh signals the master; wait until it and its workers are gone
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
