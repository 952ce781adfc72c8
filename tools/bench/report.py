"""Presents the results: the printed table, results.json and results.png."""

from __future__ import annotations

import json
import math
from pathlib import Path

# Colours that stay distinguishable in greyscale and for the common colour blindnesses.
COLOURS = {"keystone-rs": "#d55e00", "peer": "#0072b2", "peer+cache": "#56b4e9"}
COLUMNS = ("scenario", "server", "req/s", "p50 ms", "p99 ms", "non-2xx", "RSS MiB",
           "rs/this")
WIDTHS = (30, 11, 9, 8, 8, 8, 8, 8)
# value labels stay legible where the bcrypt-bound line crosses them
LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85}


def backend_label(meta: dict) -> str:
    """The database a run's servers used, from results.json's meta (runs from before
    --database-server existed were all on SQLite)."""
    database = meta.get("database") or {"backend": "sqlite"}
    if database["backend"] == "mysql":
        return "MariaDB" if "mariadb" in database.get("version", "").lower() else "MySQL"
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(database["backend"],
                                                                database["backend"])


def header() -> str:
    cells = [f"{COLUMNS[0]:<{WIDTHS[0]}}", f"{COLUMNS[1]:<{WIDTHS[1]}}"]
    cells += [f"{c:>{w}}" for c, w in zip(COLUMNS[2:], WIDTHS[2:])]
    line = " ".join(cells)
    return line + "\n" + "-" * len(line)


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def rows(entry: dict) -> list[str]:
    """One line per server for a scenario; the ratio stands on each peer's line."""
    out = []
    for i, (server, r) in enumerate(entry["results"].items()):
        title = entry["title"] if i == 0 else ""
        first = f"{title:<{WIDTHS[0]}} {server:<{WIDTHS[1]}}"
        if r["status"] != "ok":
            out.append(f"{first} {r['status']} ({r['reason']})")
            continue
        ratio = entry["ratios"].get(server)
        flag = "*" if r.get("few_samples") else ""
        p50, p99 = ((_num(r["p50_ms"]), _num(r["p99_ms"])) if r["requests"] else ("-", "-"))
        cells = [_num(r["rps"]) + flag, p50, p99, str(r["non2xx"]),
                 f"{r['rss_mib']:.0f}",
                 f"x{_num(ratio)}" if ratio is not None else ("" if server == "keystone-rs"
                                                            else "-")]
        out.append(first + " " + " ".join(f"{c:>{w}}" for c, w in zip(cells, WIDTHS[2:])))
        if r.get("first_pass"):
            f = r["first_pass"]
            out.append(f"{'':<{WIDTHS[0]}}   first sight of each token (Python client, "
                       f"{f['requests']} requests): {_num(f['rps'])} req/s, "
                       f"{f['non2xx']} non-2xx")
        if r.get("cache_hit_ratio"):
            hits = ", ".join(f"{c} {v:.0%}" for c, v in r["cache_hit_ratio"].items())
            out.append(f"{'':<{WIDTHS[0]}}   cache hits: {hits}")
    return out


def footnotes(results: dict, few: int) -> list[str]:
    if any(r.get("few_samples") for e in results["scenarios"] for r in e["results"].values()):
        return [f"* fewer than {few} requests completed in the window: a rough rate, left out "
                "of the ratios when 0 (use a longer --duration)"]
    return []


def bcrypt_lines(results: dict) -> list[str]:
    bound = results.get("bcrypt_bound")
    if not bound:
        return []
    out = [f"bcrypt bound: {bound['per_second']:.1f} verifications/s at cost {bound['cost']} "
           f"on {bound['cores']} cores"]
    for entry in results["scenarios"]:
        shares = [f"{server} {r['of_bcrypt_bound'] * 100:.0f}%"
                  for server, r in entry["results"].items() if "of_bcrypt_bound" in r]
        if shares:
            out.append(f"  {entry['title']}: {', '.join(shares)} of the bound")
    # Rates suffer from whatever else the machine runs; CPU per request hardly does.
    per_verification = bound.get("cpu_ms_per_verification")
    if per_verification:
        out.append(f"CPU per request, against {per_verification:.0f} ms per bcrypt "
                   "verification (share of the request's CPU that is bcrypt):")
        for entry in results["scenarios"]:
            if not entry.get("bcrypt_bound"):
                continue
            costs = [f"{server} {r['cpu_ms_per_request']:.0f} ms "
                     f"({min(per_verification / r['cpu_ms_per_request'], 1) * 100:.0f}%)"
                     for server, r in entry["results"].items()
                     if r.get("status") == "ok" and r.get("cpu_ms_per_request")]
            if costs:
                out.append(f"  {entry['title']}: {', '.join(costs)}")
    return out


def write_json(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")


def _short(value: float) -> str:
    if value >= 10000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return _num(value)


def write_png(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = results["scenarios"]
    servers = list(COLOURS)
    present = [s for s in servers if any(s in e["results"] for e in scenarios)]
    n, k = len(scenarios), len(present)
    bar = 0.8 / max(k, 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 1.4 + 0.5 * n * max(k, 1) / 1.6),
                                      sharey=True, gridspec_kw={"width_ratios": [3, 2]})
    bound = results.get("bcrypt_bound")
    bound_labelled = False
    rps_values, p99_values = [], []
    for row, entry in enumerate(scenarios):
        centre = n - 1 - row  # first scenario at the top
        for j, server in enumerate(present):
            y = centre + (k - 1) / 2 * bar - j * bar
            r = entry["results"].get(server)
            if r is None:
                continue
            if r["status"] != "ok":
                left.text(0.005, y, f"{server}: {r['status']} ({r['reason'][:70]})",
                          va="center", fontsize=7, color="#666666",
                          transform=left.get_yaxis_transform())
                right.text(0.005, y, f"{server}: {r['status']}", va="center", fontsize=7,
                           color="#666666", transform=right.get_yaxis_transform())
                continue
            if r["requests"]:
                rps_values.append(r["rps"])
                p99_values.append(max(r["p99_ms"], 1e-3))
            left.barh(y, r["rps"], height=bar * 0.9, color=COLOURS[server])
            label = _short(r["rps"]) + ("*" if r.get("few_samples") else "")
            ratio = entry["ratios"].get(server)
            if ratio is not None:
                label += f"  (rs x{_num(ratio)})"
            left.text(r["rps"] * 1.08, y, label, va="center", fontsize=7, bbox=LABEL_BOX)
            if r["requests"]:
                right.barh(y, r["p99_ms"], height=bar * 0.9, color=COLOURS[server])
                right.text(r["p99_ms"] * 1.08, y, _num(r["p99_ms"]), va="center", fontsize=7,
                           bbox=LABEL_BOX)
        if bound and entry.get("bcrypt_bound"):
            span = k * bar / 2
            left.plot([bound["per_second"]] * 2, [centre - span, centre + span], "--",
                      color="#333333", lw=1, zorder=1,
                      label=None if bound_labelled else
                      f"bcrypt bound ({bound['per_second']:.1f}/s, cost {bound['cost']})")
            bound_labelled = True
            rps_values.append(bound["per_second"])

    left.set_xscale("log")
    right.set_xscale("log")
    left.set_yticks(range(n), [e["title"] for e in reversed(scenarios)], fontsize=9)
    left.set_xlabel("requests/s (log scale; higher is better)")
    right.set_xlabel("p99 latency, ms (log scale; lower is better)")
    for ax, values in ((left, rps_values), (right, p99_values)):
        ax.grid(axis="x", which="major", alpha=0.35)
        ax.grid(axis="x", which="minor", alpha=0.08)
        ax.set_ylim(-0.6, n - 0.4)
        if values:
            # whole decades around the data, with room on the right for the value labels
            ax.set_xlim(10 ** math.floor(math.log10(min(values)) - 0.3),
                        10 ** math.ceil(math.log10(max(values)) + 0.5))
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLOURS[s]) for s in present]
    labels = [results["servers"][s]["label"] for s in present]
    extra = left.get_legend_handles_labels()
    fig.legend(handles + extra[0], labels + extra[1], loc="upper center", fontsize=8,
               ncol=len(handles) + len(extra[0]), frameon=False, bbox_to_anchor=(0.5, 0.965))
    meta = results["meta"]
    backend = backend_label(meta)
    who = ("keystone-rs vs Python Keystone 30" if "keystone-rs" in results["servers"]
           else "Python Keystone 30")  # --no-keystone-rs
    fig.suptitle(f"{who} on {meta['cores']} cores, {backend}, "
                 f"size {meta.get('size', '?')}: "
                 f"{meta['duration_s']} s per scenario, {meta['connections']} connections "
                 f"({meta['started']})"
                 + ("; token subject: the bootstrap admin" if meta.get("subject") == "admin"
                    else ""), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
