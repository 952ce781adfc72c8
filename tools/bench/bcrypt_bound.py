"""The ceiling for password (and application-credential) token issue: how many bcrypt
verifications per second this machine does at the configured cost on all its cores.

Each password issue verifies one bcrypt hash; so does each application-credential issue
and each OAuth2 client-credentials token (the secret is stored as a password hash). No
server can issue those faster than this, so "issue rate / bound" says how much of the
machine a server spends on anything but bcrypt. pyca/bcrypt's checkpw is Rust code that
releases the GIL; one process per core keeps the measurement free of any Python locking.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import bcrypt

# Neither deployment sets [identity] password_hash_rounds, so both hash with Keystone's
# default bcrypt cost.
DEFAULT_COST = 12


def _verify_loop(args: tuple[bytes, float]) -> tuple[int, float, float]:
    """Verifications done, the time they took (the last one overruns the deadline) and
    the CPU time they used."""
    hashed, seconds = args
    start, cpu_start = time.monotonic(), time.process_time()
    deadline = start + seconds
    count = 0
    while time.monotonic() < deadline:
        if not bcrypt.checkpw(b"bench-password", hashed):
            raise RuntimeError("bcrypt verification failed")
        count += 1
    return count, time.monotonic() - start, time.process_time() - cpu_start


def measure(seconds: float, cost: int = DEFAULT_COST, cores: int | None = None) -> dict:
    cores = cores or os.cpu_count() or 1
    hashed = bcrypt.hashpw(b"bench-password", bcrypt.gensalt(cost))
    # the workers are forked from the benchmark, whose SIGTERM handler unwinds it: give
    # them the default back, or the pool's own shutdown makes them print tracebacks
    pool = multiprocessing.get_context("fork").Pool(
        cores, initializer=signal.signal, initargs=(signal.SIGTERM, signal.SIG_DFL))
    try:
        runs = pool.map(_verify_loop, [(hashed, seconds)] * cores)
        pool.close()
    finally:
        pool.terminate()
        pool.join()
    verifications = sum(n for n, _, _ in runs)
    return {"cost": cost, "cores": cores, "verifications": verifications,
            "per_second": round(sum(n / t for n, t, _ in runs if t > 0), 2),
            # what one verification costs in CPU, whatever else the machine runs
            "cpu_ms_per_verification": round(
                sum(c for _, _, c in runs) * 1000 / verifications, 1) if verifications else None}


if __name__ == "__main__":
    print(measure(3.0))
