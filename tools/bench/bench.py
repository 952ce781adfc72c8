"""Load benchmark: keystone-rs against Python Keystone on the same machine.

Starts keystone-rs (release binary) and, unless --no-peer, the Python Keystone peer twice
(as shipped, and with the in-process cache), seeds each through the Keystone API, drives
each scenario at each server for a fixed time, prints one line per scenario and server, and
writes results.json and results.png. All traffic stays on 127.0.0.1; every server started
here is stopped at the end. See tools/bench/README.md; tools/bench/run.sh is the entry point.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import requests

import bcrypt_bound
import bulk
import load
import mint
import report
import seed as seeding
from scenarios import SCENARIOS, Scenario, select
from targets import (REPO, Database, KeystoneRsTarget, PeerTarget, RssSampler,
                     find_peer_tools, process_tree_cpu_ticks, server_version, wait_until_idle)


# Fewer completed requests than this make a rate too rough to compare (a bcrypt-bound
# scenario on a busy machine in --quick mode): flagged, and left out of the ratios.
FEW_SAMPLES = 10


def target_root() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="tools/bench/run.sh", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--duration", type=int, default=10, help="seconds of load per scenario")
    p.add_argument("--quick", action="store_true",
                   help="3 s per scenario (overrides --duration) and no separate warm-up")
    p.add_argument("--warmup", type=int, default=1,
                   help="seconds of unmeasured load before each measurement")
    p.add_argument("--threads", type=int, default=1, help="load generator threads")
    p.add_argument("--connections", type=int, default=8, help="concurrent connections")
    p.add_argument("--timeout", type=int, default=30, help="seconds before a request times out")
    p.add_argument("--scenarios", help="comma-separated keys: "
                   + ",".join(s.key for s in SCENARIOS))
    p.add_argument("--subject", choices=("seeded", "admin"), default="seeded",
                   help="whose tokens the token scenarios use: the seeded user (member on a "
                   "seeded project, reader via a group) or the bootstrap admin on the admin "
                   "project (for a server that cannot seed users yet); same on every server")
    p.add_argument("--size", choices=("S", "M", "L"), default="M",
                   help="the deployment: S is the API-seeded fixture alone; M and L add a "
                   "bulk deployment beside it (tools/bench/bulk.py: 10k / 100k users ...)")
    p.add_argument("--database-server", metavar="URL",
                   help="run every server on PostgreSQL or MariaDB: each gets a throwaway "
                   "database of its own on this server (the URL's database name is the "
                   "prefix of theirs), dropped at the end; e.g. "
                   "postgresql://postgres@127.0.0.1:5432/test or "
                   "mysql+pymysql://root@127.0.0.1:3306/test (default: SQLite files)")
    p.add_argument("--distinct-tokens", type=int, default=20_000,
                   help="tokens of distinct bulk users the validate-many scenario sends "
                   "round robin (more than keystone-rs's validation cache holds by default)")
    p.add_argument("--no-peer", action="store_true", help="measure keystone-rs only")
    p.add_argument("--no-keystone-rs", action="store_true",
                   help="measure the peers only (e.g. on a --database-server backend the "
                   "keystone-rs binary was not built for); no ratios")
    p.add_argument("--no-peer-cache", action="store_true",
                   help="skip the peer with the cache (measure the peer as shipped only)")
    p.add_argument("--no-bcrypt-bound", action="store_true", help="skip the bcrypt bound")
    p.add_argument("--keystone-rs-bin", type=Path,
                   default=Path(os.environ.get("KEYSTONE_RS_BIN")
                                or target_root() / "release" / "keystone-rs"))
    p.add_argument("--keystone-rs-port", type=int, default=5100)
    p.add_argument("--keystone-rs-conf", type=Path,
                   help="a file of keystone.conf text appended to keystone-rs's (e.g. "
                        "[validation_cache] sizes, to measure what they trade)")
    p.add_argument("--peer-port", type=int, default=5101,
                   help="the peer's port; the cached peer uses the next one")
    p.add_argument("--peer-workers", type=int, default=2, help="gunicorn workers per peer")
    p.add_argument("--peer-dir", type=Path, default=Path("/var/tmp/peer-bench"),
                   help="the peer's deployment dir (recreated); the cached one gets -cache")
    p.add_argument("--peer-tools", type=Path, default=None,
                   help="shared/tools/peer (found beside the main checkout by default)")
    p.add_argument("--out", type=Path, default=target_root() / "bench",
                   help="where results.json, results.png and logs go")
    p.add_argument("--keep", action="store_true", help="keep keystone-rs's temporary dir")
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 3, 0
    if args.no_peer and args.no_keystone_rs:
        p.error("--no-peer and --no-keystone-rs leave nothing to measure")
    if args.duration < 1 or args.warmup < 0:
        p.error("--duration must be >= 1 and --warmup >= 0")
    if args.database_server and args.database_server.startswith("sqlite"):
        args.database_server = None  # SQLite is the default: a file per server
    if args.database_server:
        try:
            Database(args.database_server)
        except ValueError as e:
            p.error(f"--database-server: {e}")
    return args


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def git_revision() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def preflight(target, req: load.Request) -> tuple[int, str]:
    """One request before the load: is the route served, and does it succeed?"""
    resp = requests.request(req.method, target.base_url + req.path, headers=req.headers,
                            data=req.body.encode() if req.body else None, timeout=60)
    return resp.status_code, resp.text[:160]


def measure(target, scenario: Scenario, seed: seeding.Seed, settings: load.LoadSettings,
            warmup: int) -> dict:
    missing = [seed.missing[n] for n in scenario.needs if n in seed.missing]
    if missing:
        return {"status": "n/a", "reason": missing[0]}
    req = scenario.request(seed)
    try:
        status, body = preflight(target, req)
    except requests.RequestException as e:
        return {"status": "error", "reason": f"preflight: {e}"}
    if status in seeding.NOT_SERVED:
        return {"status": "n/a", "reason": f"not served: {status}"}
    if not 200 <= status < 300:
        return {"status": "error", "reason": f"fails: {status} {body}".strip()}
    first_pass = None
    if req.subject_tokens and warmup and target.name == "keystone-rs":
        # (not for the peers: one pass over 20,000 tokens at their rate takes half an hour)
        first_pass = present_each_once(target, req, settings.connections)
    if warmup:
        load.run(target.base_url, req, load.LoadSettings(
            warmup, settings.threads, settings.connections, settings.timeout))
        wait_until_idle(target.root_pid())
    hz = os.sysconf("SC_CLK_TCK")
    cpu_before = process_tree_cpu_ticks(target.root_pid())
    lookups_before = cache_lookups(target)
    with RssSampler(target.root_pid()) as rss:
        result = load.run(target.base_url, req, settings)
    cpu_s = (process_tree_cpu_ticks(target.root_pid()) - cpu_before) / hz
    hits = cache_hit_ratios(lookups_before, cache_lookups(target))
    return {"status": "ok", **result.to_json(), "rss_mib": round(rss.peak_kib / 1024, 1),
            **({"cache_hit_ratio": hits} if hits else {}),
            **({"first_pass": first_pass} if first_pass else {}),
            "cpu_s": round(cpu_s, 2),
            "cpu_ms_per_request": round(cpu_s * 1000 / result.requests, 2)
            if result.requests else None,
            "few_samples": result.requests < FEW_SAMPLES}


def present_each_once(target, req: load.Request, connections: int) -> dict:
    """Before the warm-up of a many-tokens scenario: every token once, from `connections`
    client threads, timed. This is the server's first sight of each token and of its user,
    project and roles; the measured window that follows is the steady state, in which the
    tokens are still more than the token cache holds but their users have been seen, as a
    cloud's services see their active users again and again with new tokens."""
    tokens = req.subject_tokens or []
    failures = 0

    def present(chunk: list[str]) -> int:
        bad = 0
        with requests.Session() as http:
            for token in chunk:
                r = http.request(req.method, target.base_url + req.path, timeout=60,
                                 headers={**req.headers, "X-Subject-Token": token})
                bad += not 200 <= r.status_code < 300
        return bad

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=connections) as pool:
        failures = sum(pool.map(present, [tokens[i::connections] for i in range(connections)]))
    seconds = time.monotonic() - started
    wait_until_idle(target.root_pid())
    return {"requests": len(tokens), "seconds": round(seconds, 2),
            "rps": round(len(tokens) / seconds, 1) if seconds else None, "non2xx": failures}


def cache_lookups(target) -> dict[tuple[str, str], float]:
    """keystone-rs's validation-cache lookups so far, by (cache, hit|miss), from /metrics
    (empty for servers without it)."""
    if target.name != "keystone-rs":
        return {}
    try:
        text = requests.get(target.base_url + "/metrics", timeout=10).text
    except requests.RequestException:
        return {}
    found = {}
    for m in re.finditer(r'^keystone_cache_lookups_total\{cache="([^"]+)",result="([^"]+)"\} '
                         r'(\S+)$', text, re.M):
        found[(m[1], m[2])] = float(m[3])
    return found


def cache_hit_ratios(before: dict, after: dict) -> dict[str, float]:
    """Per cache, the share of the window's lookups that hit (caches not looked up are left
    out): what a scenario's rate owes to caching."""
    out = {}
    for cache in sorted({c for c, _ in after}):
        hit = after.get((cache, "hit"), 0) - before.get((cache, "hit"), 0)
        miss = after.get((cache, "miss"), 0) - before.get((cache, "miss"), 0)
        if hit + miss:
            out[cache] = round(hit / (hit + miss), 3)
    return out


def ratios(results: dict) -> dict:
    rs = results.get("keystone-rs", {})
    out = {}
    for server, r in results.items():
        if server != "keystone-rs" and r["status"] == "ok" and rs.get("status") == "ok" \
                and r["requests"] and rs["requests"]:
            out[server] = round(rs["rps"] / r["rps"], 3)
    return out


def build_targets(args) -> list:
    targets: list = []
    if not args.no_keystone_rs:
        if not args.keystone_rs_bin.is_file():
            raise SystemExit(f"no keystone-rs binary at {args.keystone_rs_bin}: "
                             "cargo build --release -p keystone-rs (run.sh does this)")
        extra = args.keystone_rs_conf.read_text() if args.keystone_rs_conf else ""
        targets.append(KeystoneRsTarget(args.keystone_rs_bin, args.keystone_rs_port,
                                        args.keep, extra, args.database_server))
    if not args.no_peer:
        tools = args.peer_tools or find_peer_tools()
        if tools is None:
            raise SystemExit("shared/tools/peer not found: pass --peer-tools or --no-peer")
        logs = args.out / "logs"
        targets.append(PeerTarget("peer", tools, args.peer_dir, args.peer_port,
                                  args.peer_workers, cache=False, log_dir=logs,
                                  database_server=args.database_server))
        if not args.no_peer_cache:
            targets.append(PeerTarget("peer+cache", tools,
                                      Path(f"{args.peer_dir}-cache"), args.peer_port + 1,
                                      args.peer_workers, cache=True, log_dir=logs,
                                      database_server=args.database_server))
    return targets


def seed_bulk(target, size: str, seconds: dict) -> bulk.Deployment | None:
    """The bulk deployment, written into the prepared database before the server starts;
    the time it took goes to `seconds[target.name]`."""
    if size == "S":
        return None
    started = time.monotonic()
    dep = bulk.seed(target.database_url, size)
    seconds[target.name] = round(time.monotonic() - started, 1)
    log(f"  {target.name}: bulk deployment {size} written in {seconds[target.name]} s")
    return dep


def attach_bulk(seed: seeding.Seed, dep: bulk.Deployment | None, target, count: int) -> None:
    """What the scale scenarios draw on: ids of the bulk deployment, and `count` tokens of
    distinct bulk users sealed with the server's own keys after a token it issued."""
    if dep is None:
        seed.missing["bulk"] = "size S has no bulk deployment (--size M or L)"
        return
    if seed.user_project_token is None:
        seed.missing["bulk"] = seed.missing.get("subject", "no project token to follow")
        return
    seed.bulk_domain_id, seed.bulk_user_id = dep.domain_id, dep.user_ids[0]
    seed.bulk_user_name = dep.user_names[len(dep.user_names) // 2]
    seed.bulk_parent_id = dep.project_ids[len(dep.project_ids) // 20]  # a mid-level one
    started = time.monotonic()
    seed.many_tokens = mint.mint(target.key_repository, seed.user_project_token,
                                 dep.member_of, count)
    seed.bulk_user_token = mint.mint(target.key_repository, seed.user_project_token,
                                     dep.member_of[:1], 1)[0]
    log(f"  {target.name}: {count} tokens of distinct users minted in "
        f"{time.monotonic() - started:.1f} s")


def database_meta(server: str | None) -> dict:
    """The backend every server ran on, for results.json (the URL without its password).
    Also the check that the database server answers, before anything is set up."""
    if not server:
        return {"backend": "sqlite", "version": server_version(None)}
    backend = Database(server).backend
    try:
        version = server_version(server)
    except Exception as e:  # the driver's own error types
        raise RuntimeError(f"--database-server: cannot connect: {e}") from e
    parts = urlsplit(server)
    where = f"{parts.username + '@' if parts.username else ''}{parts.hostname}" \
            f"{':' + str(parts.port) if parts.port else ''}"
    return {"backend": backend, "version": version, "server": where}


def run(args) -> int:
    load.require_tools()
    scenarios = select(args.scenarios.split(",") if args.scenarios else None)
    settings = load.LoadSettings(args.duration, args.threads, args.connections, args.timeout)
    database = database_meta(args.database_server)
    log(f"database: {database['backend']} ({database['version'][:60]})")
    load_avg = os.getloadavg()[0]
    if load_avg > 0.5 * (os.cpu_count() or 1):
        log(f"warning: load average {load_avg:.1f} on {os.cpu_count()} cores: "
            "other work on this machine will skew the numbers")
    results: dict = {
        "meta": {"started": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
                 "git": git_revision(), "cores": os.cpu_count(),
                 "load_average_at_start": round(load_avg, 2),
                 "duration_s": args.duration, "warmup_s": args.warmup,
                 "subject": args.subject, "database": database,
                 "threads": args.threads, "connections": args.connections,
                 "load_generators": {"default": "wrk", "HEAD": "ab"}},
        "servers": {}, "seed": {}, "bcrypt_bound": None, "scenarios": [],
    }
    targets = build_targets(args)
    try:
        peers = [t for t in targets if isinstance(t, PeerTarget)]
        # The peers share one venv, which setup.sh installs when it is missing: two setups
        # installing at once corrupt it (pip failed so on a fresh machine), so the first one
        # installs it alone.
        install_first = bool(peers) and not peers[0].venv_installed()
        for i, t in enumerate(peers):
            log(f"preparing {t.name} in {t.peer_dir} (setup.sh, about a minute)")
            t.prepare_async()
            if i == 0 and install_first:
                log(f"  {t.name} installs Keystone into {t.venv} first (a few minutes)")
                t.wait_setup()
        bulk_seconds: dict[str, float] = {}
        deployments = {}
        for rs in [t for t in targets if isinstance(t, KeystoneRsTarget)]:
            log(f"preparing and starting keystone-rs on {rs.base_url}")
            rs.prepare()
            deployments[rs.name] = seed_bulk(rs, args.size, bulk_seconds)
            rs.start()
        for t in [t for t in targets if isinstance(t, PeerTarget)]:
            t.wait_prepared()
            deployments[t.name] = seed_bulk(t, args.size, bulk_seconds)
            log(f"starting {t.name} on {t.base_url}")
            t.start()
        results["meta"]["size"] = args.size
        first = deployments[targets[0].name]  # the same on every server
        results["meta"]["bulk"] = first.counts if first else {}
        results["meta"]["bulk_seconds"] = bulk_seconds
        seeds = {}
        for t in targets:
            log(f"seeding {t.name} through the API")
            started = time.monotonic()
            seeds[t.name] = seeding.seed(t.base_url, args.subject)
            attach_bulk(seeds[t.name], deployments[t.name], t, args.distinct_tokens)
            results["seed"][t.name] = {**seeds[t.name].to_json(),
                                       "seconds": round(time.monotonic() - started, 1)}
            for group, reason in seeds[t.name].missing.items():
                log(f"  {t.name}: {group} not seeded ({reason})")
            label = {"keystone-rs": "keystone-rs", "peer": "Python Keystone (no cache)",
                     "peer+cache": "Python Keystone (+ memory cache)"}[t.name]
            results["servers"][t.name] = {"label": label, "url": t.base_url,
                                          "how": t.describe()}
        if not args.no_bcrypt_bound:
            log(f"bcrypt bound: {args.duration} s of verifications on every core")
            results["bcrypt_bound"] = bcrypt_bound.measure(args.duration)

        print(report.header(), flush=True)
        for scenario in scenarios:
            per_server = {}
            for t in targets:
                try:
                    per_server[t.name] = measure(t, scenario, seeds[t.name], settings,
                                                 args.warmup)
                except load.LoadError as e:
                    per_server[t.name] = {"status": "error", "reason": str(e)}
                bound = results["bcrypt_bound"]
                r = per_server[t.name]
                if scenario.bcrypt_bound and bound and r["status"] == "ok" and r["requests"]:
                    r["of_bcrypt_bound"] = round(r["rps"] / bound["per_second"], 3)
            shape = scenario.request(seeding.Seed(base_url=""))
            entry = {"key": scenario.key, "title": scenario.title,
                     "request": f"{shape.method} {shape.path}",
                     "bcrypt_bound": scenario.bcrypt_bound, "results": per_server,
                     "ratios": ratios(per_server)}
            results["scenarios"].append(entry)
            print("\n".join(report.rows(entry)), flush=True)
    finally:
        for t in reversed(targets):
            try:
                t.stop()
            except Exception as e:  # keep stopping the others
                log(f"stopping {t.name}: {e}")

    for line in report.footnotes(results, FEW_SAMPLES) + report.bcrypt_lines(results):
        print(line)
    json_path, png_path = args.out / "results.json", args.out / "results.png"
    report.write_json(results, json_path)
    report.write_png(results, png_path)
    print(f"results: {json_path}, {png_path}")
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # SIGTERM (e.g. from `timeout`) must still stop the servers: unwind like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run(args)
    except (RuntimeError, load.LoadError) as e:
        log(f"failed: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted; servers stopped")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
