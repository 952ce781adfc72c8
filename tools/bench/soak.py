"""Soak test: keystone-rs under steady mixed load for a long time, watching for errors and
memory growth.

Starts keystone-rs (release binary, SQLite, as tools/bench does), seeds it through the API,
measures each scenario's peak rate briefly (wrk, 8 connections), then drives every scenario
at once, each at LOAD x its peak / number of scenarios (so the server as a whole runs at
about LOAD of its capacity), rate-limited with wrk's per-request delay, in back-to-back
windows until the duration is spent. Each window reports the achieved rate, non-2xx
answers, socket errors and p99 latency; the server's resident memory is sampled every
second. Prints a table, writes soak.json, and exits 1 if any request failed.

HEAD (the `check` scenario) is left out: wrk cannot measure HEAD (see load.py) and ab has
no rate limit; `validate` drives the same token checks.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import load
import seed as seeding
from bench import git_revision, log, preflight, target_root
from scenarios import Scenario, select
from targets import REPO, KeystoneRsTarget, process_tree_rss_kib


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="tools/soak.sh", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--duration", type=int, default=600, help="seconds of mixed load")
    p.add_argument("--window", type=int, default=30, help="seconds per reporting window")
    p.add_argument("--probe", type=int, default=3, help="seconds per scenario to measure its peak")
    p.add_argument("--load", type=float, default=0.5, help="fraction of the measured peak")
    p.add_argument("--scenarios", help="comma-separated keys (default: all but HEAD ones)")
    p.add_argument("--keystone-rs-bin", type=Path,
                   default=Path(os.environ.get("KEYSTONE_RS_BIN")
                                or target_root() / "release" / "keystone-rs"))
    p.add_argument("--port", type=int, default=5110)
    p.add_argument("--out", type=Path, default=target_root() / "soak")
    return p.parse_args(argv)


class RssLog:
    """The server's resident memory every `interval` seconds, from the start of the soak."""

    def __init__(self, pid: int, interval: float = 1.0):
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []  # (seconds since start, KiB)
        self._stop = threading.Event()
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - self._start, process_tree_rss_kib(self.pid)))
            self._stop.wait(self.interval)

    def between(self, t0: float, t1: float) -> list[int]:
        return [kib for t, kib in self.samples if t0 <= t <= t1]

    def __enter__(self) -> "RssLog":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def plan_rate(peak_rps: float, alone_ms: float, share: float) -> dict:
    """wrk settings for one scenario's share of the load. Each connection sends a request,
    waits for the answer, then `delay_ms` (wrk takes whole milliseconds): enough connections
    that the delay is at least MIN_DELAY_MS, so rounding it moves the rate by 5 % at most."""
    target = max(peak_rps * share, MIN_RPS)
    # At half load a request takes about what it takes alone (timed at the preflight).
    latency = max(alone_ms, 0.1)
    connections = max(1, math.ceil(target * (MIN_DELAY_MS + latency) / 1000))
    delay = max(round(connections * 1000 / target - latency), 0)
    return {"target_rps": round(target, 2), "connections": connections, "delay_ms": delay}


MIN_DELAY_MS = 20
# wrk waits the delay before each request, the first on a new connection too, and the server
# answers 408 to a connection that sends nothing for 5 s: no scenario goes slower than this
# (the bcrypt-bound ones then run at a little more than their share).
MIN_RPS = 0.5


def run(args) -> int:
    load.require_tools()
    chosen = select(args.scenarios.split(",") if args.scenarios else None)
    scenarios: list[Scenario] = [s for s in chosen
                                 if s.request(seeding.Seed(base_url="")).method != "HEAD"]
    args.out.mkdir(parents=True, exist_ok=True)
    result: dict = {"meta": {"started": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
                             "git": git_revision(), "cores": os.cpu_count(),
                             "load_average_at_start": round(os.getloadavg()[0], 2),
                             "duration_s": args.duration, "window_s": args.window,
                             "load": args.load, "binary": str(args.keystone_rs_bin)},
                    "plan": {}, "windows": [], "rss": []}
    target = KeystoneRsTarget(args.keystone_rs_bin, args.port, keep=False)
    failures = 0
    try:
        log(f"preparing and starting keystone-rs on {target.base_url}")
        target.prepare()
        target.start()
        seed = seeding.seed(target.base_url)
        for group, reason in seed.missing.items():
            log(f"  {group} not seeded ({reason})")
        requests_by_key, alone_ms = {}, {}
        for s in scenarios:
            if any(n in seed.missing for n in s.needs):
                continue
            req = s.request(seed)
            started = time.monotonic()
            status, body = preflight(target, req)
            alone_ms[s.key] = (time.monotonic() - started) * 1000
            if not 200 <= status < 300:
                raise RuntimeError(f"{s.key}: preflight {status} {body}")
            requests_by_key[s.key] = req
        share = args.load / len(requests_by_key)
        log(f"peak of each of {len(requests_by_key)} scenarios ({args.probe} s each)")
        for key, req in requests_by_key.items():
            peak = load.run(target.base_url, req, load.LoadSettings(args.probe, 1, 8, 30))
            result["plan"][key] = {"peak_rps": round(peak.rps, 1), "peak_p50_ms": peak.p50_ms,
                                   "alone_ms": round(alone_ms[key], 2),
                                   **plan_rate(peak.rps, alone_ms[key], share)}
            log(f"  {key:20} peak {peak.rps:9.1f} req/s -> "
                f"{result['plan'][key]['target_rps']} req/s")
        total_target = sum(p["target_rps"] for p in result["plan"].values())
        log(f"soak: {args.duration} s, {total_target:.0f} req/s in all, "
            f"{args.window} s windows")
        print(f"{'window':>6} {'until s':>8} {'req/s':>8} {'target':>8} {'non-2xx':>8} "
              f"{'sock err':>8} {'p99 ms':>8} {'RSS MiB':>8}", flush=True)
        started = time.monotonic()
        with RssLog(target.root_pid()) as rss, ThreadPoolExecutor(len(requests_by_key)) as pool:
            window = 0
            while (elapsed := time.monotonic() - started) < args.duration:
                seconds = int(min(args.window, args.duration - elapsed)) or 1
                t0 = time.monotonic() - started
                futures = {key: pool.submit(
                    load.run, target.base_url, req,
                    load.LoadSettings(seconds, 1, result["plan"][key]["connections"], 30,
                                      delay_ms=result["plan"][key]["delay_ms"]))
                    for key, req in requests_by_key.items()}
                per = {key: f.result() for key, f in futures.items()}
                t1 = time.monotonic() - started
                window += 1
                kib = rss.between(t0, t1) or [process_tree_rss_kib(target.root_pid())]
                row = {"window": window, "from_s": round(t0, 1), "until_s": round(t1, 1),
                       "rps": round(sum(r.rps for r in per.values()), 1),
                       "requests": sum(r.requests for r in per.values()),
                       "non2xx": sum(r.non2xx for r in per.values()),
                       "socket_errors": sum(r.socket_errors for r in per.values()),
                       "p99_ms_worst": max(r.p99_ms for r in per.values()),
                       "rss_mib_max": round(max(kib) / 1024, 1),
                       "rss_mib_end": round(kib[-1] / 1024, 1),
                       "scenarios": {k: r.to_json() for k, r in per.items()}}
                failures += row["non2xx"] + row["socket_errors"]
                result["windows"].append(row)
                print(f"{window:>6} {row['until_s']:>8.0f} {row['rps']:>8.1f} "
                      f"{total_target:>8.0f} {row['non2xx']:>8} {row['socket_errors']:>8} "
                      f"{row['p99_ms_worst']:>8.1f} {row['rss_mib_end']:>8.1f}", flush=True)
            result["rss"] = [(round(t, 1), kib) for t, kib in rss.samples]
    finally:
        target.stop()

    windows = result["windows"]
    if windows:
        first, last = windows[0], windows[-1]
        result["summary"] = {
            "requests": sum(w["requests"] for w in windows),
            "failed": failures,
            "rss_mib_first_window": first["rss_mib_end"],
            "rss_mib_last_window": last["rss_mib_end"],
            "rss_mib_max": max(w["rss_mib_max"] for w in windows),
        }
        s = result["summary"]
        print(f"{s['requests']} requests, {failures} failed; RSS {s['rss_mib_first_window']} MiB "
              f"after the first window, {s['rss_mib_last_window']} MiB at the end "
              f"(max {s['rss_mib_max']} MiB)")
    path = args.out / "soak.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"results: {path}")
    return 1 if failures else 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run(args)
    except (RuntimeError, load.LoadError) as e:
        log(f"failed: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted; server stopped")
        return 130


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "tools" / "bench"))
    sys.exit(main(sys.argv[1:]))
