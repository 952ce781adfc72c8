"""The servers under test: keystone-rs from its release binary, and the Python Keystone peer
(as shipped, and with the in-process cache operators would run), each on its own
127.0.0.1 port, prepared from scratch and stopped at the end.
"""

from __future__ import annotations

import os
import shutil
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

    def __init__(self, binary: Path, port: int, keep: bool, extra_conf: str = ""):
        self.binary, self.port, self.keep = binary, port, keep
        self.workdir = Path(tempfile.mkdtemp(prefix="keystone-rs-bench."))
        self.server = interop_servers.KeystoneRs(binary, self.workdir, port=port,
                                                 extra_conf=extra_conf)
        self.base_url = self.server.base_url

    def describe(self) -> str:
        return f"{self.binary} (SQLite in {self.workdir})"

    @property
    def database_url(self) -> str:
        return self.server.connection

    @property
    def key_repository(self) -> Path:
        return Path(self.server.key_repository)

    def prepare(self) -> None:
        if port_in_use(self.port):
            raise RuntimeError(f"127.0.0.1:{self.port} is already in use (--keystone-rs-port)")
        self.server.prepare()

    def start(self) -> None:
        self.server.start()

    def root_pid(self) -> int:
        assert self.server.proc is not None
        return self.server.proc.pid

    def stop(self) -> None:
        self.server.stop()
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


class PeerTarget:
    """Python Keystone 30 under gunicorn, prepared by shared/tools/peer's own scripts."""

    def __init__(self, name: str, tools: Path, peer_dir: Path, port: int, workers: int,
                 cache: bool, log_dir: Path):
        if peer_dir.resolve() == SHARED_PEER_DIR:
            raise RuntimeError(f"{peer_dir} is the peer other helpers use; pick another dir")
        self.name, self.tools, self.peer_dir = name, tools, peer_dir
        self.port, self.workers, self.cache = port, workers, cache
        self.base_url = f"http://127.0.0.1:{port}"
        self.setup_log = log_dir / f"{name}-setup.log"
        self._setup: subprocess.Popen | None = None
        self._started = False

    def describe(self) -> str:
        cache = "in-process dogpile.cache.memory" if self.cache else "no cache"
        return f"Python Keystone, gunicorn {self.workers} workers, {cache} ({self.peer_dir})"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.peer_dir}/keystone.db"  # what setup.sh configures

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
            self._setup = subprocess.Popen([str(self.tools / "setup.sh"), str(self.port)],
                                           env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL)

    def wait_prepared(self) -> None:
        assert self._setup is not None
        if self._setup.wait(timeout=600) != 0:
            raise RuntimeError(f"{self.name}: setup.sh failed; see {self.setup_log}\n"
                               + interop_servers.tail(self.setup_log, 15))

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
        if self._setup is not None and self._setup.poll() is None:
            self._setup.terminate()
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
