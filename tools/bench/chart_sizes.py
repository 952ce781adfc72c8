"""Time per request against deployment size, from several bench runs.

    python chart_sizes.py RUN_S/results.json RUN_M/results.json RUN_L/results.json \
        [more runs on other backends ...] [--metric p50|throughput] [--out sizes.png]

Each results.json is one run of bench.py (its `--size` and `--database-server` are read from
the file). Writes one PNG with a panel per scenario: time per request (ms, log scale) at
sizes S, M and L, a line per server, and per backend when the runs cover several. Prints the
same numbers as a markdown table. A run repeated at the same size and backend: the later
file given wins.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from report import COLOURS, backend_label

SIZES = ("S", "M", "L")
METRICS = {
    # what a client waits for, with the run's --connections requests in flight
    "p50": ("p50 latency, ms", lambda r: r["p50_ms"]),
    # the server's throughput as time: 1000 / req/s
    "throughput": ("ms per request (1000 / req/s)", lambda r: 1000 / r["rps"]),
}
LINESTYLES = ("-", "--", ":", "-.")


def collect(paths: list[Path], metric: str) -> tuple[dict, list[str], list[str]]:
    """{scenario key: {"title": ..., "lines": {(server, backend): {size: ms}}}}, the
    backends and the servers in the order first seen."""
    value = METRICS[metric][1]
    scenarios: dict = {}
    backends: list[str] = []
    servers: list[str] = []
    for path in paths:
        run = json.loads(path.read_text())
        size = run["meta"].get("size", "S")  # runs from before --size: the API fixture alone
        backend = backend_label(run["meta"])
        if backend not in backends:
            backends.append(backend)
        for entry in run["scenarios"]:
            slot = scenarios.setdefault(entry["key"], {"title": entry["title"], "lines": {}})
            for server, r in entry["results"].items():
                if server not in servers:
                    servers.append(server)
                if r.get("status") == "ok" and r.get("requests"):
                    slot["lines"].setdefault((server, backend), {})[size] = value(r)
    return scenarios, backends, servers


def ms(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def label(server: str, backend: str, backends: list[str]) -> str:
    return f"{server} ({backend})" if len(backends) > 1 else server


def markdown(scenarios: dict, backends: list[str], servers: list[str], unit: str) -> str:
    out = [f"| scenario | server | {' | '.join(SIZES)} |", "|---|---|" + "---:|" * len(SIZES)]
    for slot in scenarios.values():
        for backend in backends:
            for server in servers:
                line = slot["lines"].get((server, backend))
                if not line:
                    continue
                cells = [ms(line[s]) if s in line else "" for s in SIZES]
                out.append(f"| {slot['title']} | {label(server, backend, backends)} | "
                           + " | ".join(cells) + " |")
    return f"{unit}:\n\n" + "\n".join(out)


def chart(scenarios: dict, backends: list[str], servers: list[str], unit: str,
          path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = {k: v for k, v in scenarios.items() if v["lines"]}
    cols = min(3, len(shown)) or 1
    rows = math.ceil(len(shown) / cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows + 1.2), squeeze=False)
    for ax in axes.flat[len(shown):]:
        ax.set_visible(False)
    handles = {}
    for ax, slot in zip(axes.flat, shown.values()):
        for b, backend in enumerate(backends):
            for server in servers:
                line = slot["lines"].get((server, backend))
                if not line:
                    continue
                xs = [i for i, s in enumerate(SIZES) if s in line]
                (h,) = ax.plot(xs, [line[SIZES[i]] for i in xs], marker="o",
                               linestyle=LINESTYLES[b % len(LINESTYLES)],
                               color=COLOURS.get(server, "#666666"))
                handles[label(server, backend, backends)] = h
        ax.set_title(slot["title"], fontsize=9)
        ax.set_xticks(range(len(SIZES)), SIZES)
        ax.set_xlim(-0.3, len(SIZES) - 0.7)
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
        ax.set_ylabel(unit, fontsize=8)
    # title, then the legend under it, then the panels (margins in inches)
    height = fig.get_figheight()
    ncol = min(len(handles), 2 * cols) or 1
    legend_rows = math.ceil(len(handles) / ncol)
    fig.suptitle("time per request against deployment size (log scale; lower is better)",
                 fontsize=10, y=1 - 0.1 / height, va="top")
    fig.legend(list(handles.values()), list(handles), loc="upper center", frameon=False,
               ncol=ncol, fontsize=8, bbox_to_anchor=(0.5, 1 - 0.35 / height))
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.45 + 0.22 * legend_rows) / height))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="+", type=Path, help="results.json files of bench runs")
    p.add_argument("--metric", choices=sorted(METRICS), default="p50")
    p.add_argument("--out", type=Path, default=Path("sizes.png"), help="the PNG to write")
    args = p.parse_args(argv)
    scenarios, backends, servers = collect(args.results, args.metric)
    unit = METRICS[args.metric][0]
    print(markdown(scenarios, backends, servers, unit))
    chart(scenarios, backends, servers, unit, args.out)
    print(f"\nchart: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
