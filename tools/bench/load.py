"""Drives one fixed request at a server with an established load generator.

wrk (Debian's package) does the load, with request.lua supplying method, headers and body
and reporting the run as JSON. wrk cannot measure HEAD: its HTTP parser is never told the
request was a HEAD, so it waits for a body the server rightly never sends and counts a
read error instead of a response. HEAD therefore goes to ApacheBench (`ab -i`, Debian's
apache2-utils), whose percentile CSV has microsecond resolution.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
LUA = HERE / "request.lua"


@dataclass
class Request:
    method: str
    path: str  # with its query string
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    # wrk only: X-Subject-Token values sent round robin, one per request (request.lua), for
    # the scenarios that validate many distinct tokens; None sends the headers as they are
    subject_tokens: list[str] | None = None


@dataclass
class LoadSettings:
    duration: int  # seconds
    threads: int
    connections: int
    timeout: int  # seconds a single request may take before it counts as a timeout
    # wrk only: each connection waits this long after an answer before its next request
    # (tools/bench/soak.py's rate limit); None sends back to back
    delay_ms: float | None = None


@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    # answers that were not 2xx: wrk counts those of 400 and above (request.lua)
    non2xx: int
    p50_ms: float
    p99_ms: float
    socket_errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict:
        return {**asdict(self), "rps": round(self.rps, 2)}


class LoadError(RuntimeError):
    pass


def require_tools() -> None:
    missing = [t for t in ("wrk", "ab") if shutil.which(t) is None]
    if missing:
        raise LoadError(f"missing load generator(s): {', '.join(missing)} "
                        "(apt-get install wrk apache2-utils; tools/bench/run.sh does this)")


def run(base_url: str, req: Request, settings: LoadSettings) -> LoadResult:
    try:
        if req.method == "HEAD":
            return run_ab(base_url, req, settings)
        return run_wrk(base_url, req, settings)
    except subprocess.TimeoutExpired as e:
        raise LoadError(f"{e.cmd[0]} did not finish in {e.timeout:.0f} s") from None


def run_wrk(base_url: str, req: Request, s: LoadSettings) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", prefix="bench-request-", suffix=".txt") as spec, \
            tempfile.NamedTemporaryFile("w", prefix="bench-tokens-", suffix=".txt") as tokens:
        spec.write(req.method + "\n")
        for name, value in req.headers.items():
            spec.write(f"{name}: {value}\n")
        spec.write("\n" + req.body)
        spec.flush()
        cmd = ["wrk", f"-t{s.threads}", f"-c{max(s.connections, s.threads)}",
               f"-d{s.duration}s", "--timeout", f"{s.timeout}s", "-s", str(LUA),
               base_url + req.path]
        env = {"BENCH_REQUEST": spec.name, "PATH": "/usr/bin:/bin"}
        if s.delay_ms is not None:
            env["BENCH_DELAY_MS"] = str(s.delay_ms)
        if req.subject_tokens:
            tokens.write("\n".join(req.subject_tokens) + "\n")
            tokens.flush()
            env["BENCH_SUBJECT_TOKENS"] = tokens.name
        proc = subprocess.run(cmd, env=env,
                              capture_output=True, text=True, timeout=s.duration + s.timeout + 30)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("BENCH_RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise LoadError(f"wrk failed ({proc.returncode}): {proc.stderr.strip()[-300:]}")
    r = json.loads(line.removeprefix("BENCH_RESULT "))
    errors = r["socket_errors"]
    return LoadResult(
        tool="wrk", requests=r["requests"], seconds=r["duration_us"] / 1e6,
        non2xx=r["non2xx"],
        p50_ms=r["latency_us"]["p50"] / 1000, p99_ms=r["latency_us"]["p99"] / 1000,
        socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"])


def run_ab(base_url: str, req: Request, s: LoadSettings) -> LoadResult:
    if req.method != "HEAD" or req.body or req.subject_tokens:
        raise LoadError("ab is only used here for HEAD without a body, with one subject token")
    with tempfile.NamedTemporaryFile("r", prefix="bench-ab-", suffix=".csv") as csv:
        # -t before -n: -t alone would cap the run at 50000 requests
        cmd = ["ab", "-i", "-k", "-q", "-r", "-c", str(s.connections), "-t", str(s.duration),
               "-n", "100000000", "-s", str(s.timeout), "-e", csv.name]
        for name, value in req.headers.items():
            cmd += ["-H", f"{name}: {value}"]
        cmd.append(base_url + req.path)
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=s.duration + s.timeout + 30)
        percentiles = parse_ab_csv(Path(csv.name).read_text())
    out = proc.stdout
    complete = _ab_number(out, r"Complete requests:\s+(\d+)")
    seconds = _ab_number(out, r"Time taken for tests:\s+([\d.]+)")
    if proc.returncode != 0 or complete is None or seconds is None:
        raise LoadError(f"ab failed ({proc.returncode}): {(proc.stderr or out).strip()[-300:]}")
    non2xx = int(_ab_number(out, r"Non-2xx responses:\s+(\d+)") or 0)
    failed = int(_ab_number(out, r"Failed requests:\s+(\d+)") or 0)
    longest = _ab_number(out, r"100%\s+(\d+)") or 0.0
    # ab's CSV has a 0 past the last sample when there were under 100 requests
    p50 = percentiles.get(50) or longest
    p99 = percentiles.get(99) or longest
    return LoadResult(tool="ab", requests=int(complete), seconds=seconds, non2xx=non2xx,
                      p50_ms=p50, p99_ms=p99, socket_errors=failed)


def parse_ab_csv(text: str) -> dict[int, float]:
    out = {}
    for line in text.splitlines()[1:]:
        pct, _, ms = line.partition(",")
        try:
            out[int(pct)] = float(ms)
        except ValueError:
            continue
    return out


def _ab_number(text: str, pattern: str) -> float | None:
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None
