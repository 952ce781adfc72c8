#!/usr/bin/env python3
"""The house rules of keystone-rs/src, checked from the source text.

Two checks, both run by tools/test.sh:

* imports: every `crate::`/`super::` path a file names becomes an arrow to the file that
  defines it. A "room" is a top-level file or folder of keystone-rs/src; ROOMS below lists them
  from the top floor down, and an arrow from a room to one listed above it is an *upward*
  arrow. Allowed: none beyond ALLOWED_UPWARD (each with its reason). Also refused: any loop of
  files that spans two rooms.
* tables: `diesel::insert_into(T)`, `diesel::update(T)` and `diesel::delete(T)` may name a
  table only from the folder that owns it (OWNERS below).

  python3 tools/house.py            both checks; exit 1 on a violation
  python3 tools/house.py --graph    also print the room-level arrows
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "keystone-rs" / "src"

# Top floor first. A room may import the rooms listed after it, never those before it.
ROOMS = [
    "main",
    "lib",
    "server",  # the actix App: middleware + every route file
    "api",  # the routes, one file per subsystem
    "manage",  # keystone-manage verbs
    "cascade",  # what deleting one entity does across subsystems
    "oauth2",  # flows that issue tokens
    "auth",
    "context",  # the caller of a request: token, access rules, cert binding, authorize
    "preflight",  # what serve, doctor and /healthcheck check a deployment for
    "state",  # AppState, below every route
    "tls",
    "ratelimit",
    "receipt",  # MFA auth receipts: Fernet tokens of their own key repository
    "token",  # the token provider: caller model, issue, validate, render, cache
    "trust",  # OS-TRUST: what token/roles.rs and token/validate.rs ask of trust tokens
    "application_credential",  # delegations: what token/roles.rs asks for roles
    "credential",  # credentials (EC2/S3, TOTP): sealed with the credential key repository
    "oauth1",
    "federation",
    "limit",  # unified limits: registered limits and project/domain limits
    "ldap",  # domain-specific LDAP identity backends (read-only directories)
    "domain_config",  # domain-specific identity configuration
    "assignment",
    "identity",
    "endpoint_policy",  # policy blobs and their endpoint/service/region associations
    "resource",
    "catalog",
    "revoke",
    "discovery",
    "jws",  # the JWS token format: key pairs, signed claims (the payload model is fernet's)
    "fernet",  # the token format: keys, envelope, payloads
    "policy",
    "observability",  # process-wide metrics
    "db",
    "config",
    "python",  # Python-compatible text: repr, %-formatting, literal_eval, jsonschema
    "error",
    "json",  # JSON text as Python's json.dumps writes it
]

# Upward arrows that are deliberate. (from_file, to_room): reason.
ALLOWED_UPWARD = {
    # token/roles.rs and token/validate.rs are the one place that knows the delegation kinds:
    # a trait registry would remove these arrows at the cost of a registry and a token-owned
    # copy of each delegation record (house-review 4.2).
}

# Which folder (room) may write each table. Keystone's own tables and keystone-rs's.
OWNERS = {
    "identity": [
        "user", "local_user", "password", "nonlocal_user", "federated_user", "user_option",
        "group", "user_group_membership", "expiring_user_group_membership", "id_mapping",
    ],
    "resource": ["project", "project_tag", "project_option"],
    "assignment": ["assignment", "system_assignment", "role", "implied_role", "role_option"],
    # Endpoint filtering (OS-EP-FILTER) is part of Keystone's catalog.
    "catalog": [
        "service", "endpoint", "region", "endpoint_group", "project_endpoint",
        "project_endpoint_group",
    ],
    "revoke": ["revocation_event"],
    # Keystone's `policy` (the blobs) and `endpoint_policy` subsystems; not oslo.policy.
    "endpoint_policy": ["policy", "policy_association"],
    "application_credential": [
        "application_credential", "application_credential_role",
        "application_credential_access_rule", "access_rule",
    ],
    "credential": ["credential"],
    "oauth1": ["consumer", "request_token", "access_token"],
    "trust": ["trust", "trust_role"],
    "oauth2": ["ksrs_oauth2_client", "ksrs_oauth2_certificate"],
    "federation": ["mapping", "identity_provider", "idp_remote_ids", "federation_protocol", "service_provider"],
    "limit": ["limit", "registered_limit"],
    "domain_config": ["whitelisted_config", "sensitive_config", "config_register"],
    "db": ["ksrs_generation", "ksrs_replay", "migrate_version", "__diesel_schema_migrations"],
}


def module_file(parts):
    """The file that defines crate::parts[0]::parts[1]..., longest prefix first."""
    for n in range(len(parts), 0, -1):
        base = SRC.joinpath(*parts[:n])
        for cand in (base.with_suffix(".rs"), base / "mod.rs"):
            if cand.is_file():
                return cand
    return None


def module_path(f):
    rel = f.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "mod":
        parts.pop()
    if parts in (["lib"], ["main"]):
        return []
    return parts


def room_of(f):
    rel = f.relative_to(SRC)
    return rel.parts[0].removesuffix(".rs")


def strip_comments(text):
    """The code of a Rust file without comments and with every string and char literal
    emptied, so paths inside them are not read as imports. A small lexer: raw strings
    (`r#"…"#`), escapes, char literals and lifetimes (`'a`) are told apart."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c in "rb" and re.match(r'(?:br|r)#*"', text[i:i + 80]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'(?:br|r)(#*)"', text[i:])
            close = '"' + m.group(1)
            j = text.find(close, i + m.end())
            out.append('""')
            i = n if j < 0 else j + len(close)
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            out.append('""')
            i += 1
        elif c == "'":
            m = re.match(r"'(?:\\.[^']*|[^\\'])'", text[i:i + 12])
            if m:  # a char literal
                out.append("' '")
                i += m.end()
            else:  # a lifetime or label
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand_use(tree, prefix):
    """`a::{b, c::{d}}` → [a::b, a::c::d] (just the paths, not the leaves' kinds)."""
    tree = tree.strip()
    m = re.match(r"^([\w:]*?)::\{(.*)\}$", tree, re.S)
    if not m:
        return [prefix + [p for p in re.split(r"::", re.sub(r"\s+as\s+\w+$", "", tree)) if p]]
    head = [p for p in m.group(1).split("::") if p]
    out, depth, cur = [], 0, ""
    for ch in m.group(2):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    paths = []
    for item in out:
        item = item.strip()
        if item and item != "self":
            paths += expand_use(item, prefix + head)
        elif item == "self":
            paths.append(prefix + head)
    return paths


def arrows_of(f):
    text = strip_comments(f.read_text())
    here = module_path(f)
    is_mod = f.name in ("mod.rs", "lib.rs", "main.rs")
    paths = []
    for m in re.finditer(r"\buse\s+((?:crate|super)(?:::|\b)[^;]*);", text, re.S):
        paths += expand_use(m.group(1), [])
    text_wo_use = re.sub(r"\buse\s+[^;]*;", "", text)
    for m in re.finditer(r"\b((?:crate|super)(?:::(?:super|\w+))+)", text_wo_use):
        paths.append(m.group(1).split("::"))
    targets = set()
    for p in paths:
        if not p:
            continue
        if p[0] == "crate":
            abs_ = p[1:]
        else:
            base = here if is_mod else here[:-1]
            i = 0
            while i < len(p) and p[i] == "super":
                base = base[:-1]
                i += 1
            abs_ = base + p[i:]
        if not abs_:
            continue
        t = module_file(abs_)
        if t is not None and t != f:
            targets.add(t)
    return targets


def sccs(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        work = [(v, iter(graph[v]))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(graph[w])))
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    out.append(comp)

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def is_test(f):
    return f.name == "tests.rs" or "tests" in f.relative_to(SRC).parts[:-1]


def check_imports(show_graph):
    # Unit-test files may reach anywhere (a route test builds the whole server).
    files = sorted(f for f in SRC.rglob("*.rs") if not is_test(f))
    graph = defaultdict(set)
    for f in files:
        graph[f] |= arrows_of(f)
    rank = {r: i for i, r in enumerate(ROOMS)}
    problems = []
    unknown = sorted({room_of(f) for f in files} - set(rank))
    for r in unknown:
        problems.append(f"room {r!r} is not in tools/house.py ROOMS: give it a floor")
    room_arrows = defaultdict(int)
    upward = []
    for f, ts in graph.items():
        for t in ts:
            a, b = room_of(f), room_of(t)
            if a == b or a not in rank or b not in rank:
                continue
            room_arrows[(a, b)] += 1
            if rank[b] < rank[a]:
                key = (str(f.relative_to(SRC)), b)
                if key not in ALLOWED_UPWARD:
                    upward.append(f"{f.relative_to(SRC)} -> {t.relative_to(SRC)}")
    for u in sorted(upward):
        problems.append(f"upward import: {u}")
    for comp in sccs(graph):
        rooms = {room_of(f) for f in comp}
        if len(comp) > 1 and len(rooms) > 1:
            names = ", ".join(sorted(str(f.relative_to(SRC)) for f in comp))
            problems.append(f"import loop across rooms {sorted(rooms)}: {names}")
    if show_graph:
        for (a, b), n in sorted(room_arrows.items(), key=lambda kv: (rank.get(kv[0][0], 99), kv[0][1])):
            print(f"{a} -> {b} ({n})")
    print(f"imports: {len(files)} files, {len(room_arrows)} room arrows, {len(upward)} upward "
          f"({len(ALLOWED_UPWARD)} allowed)")
    return problems


WRITE = re.compile(r"diesel::(insert_into|update|delete|replace_into|insert_or_ignore_into)\s*\(\s*([\w:]+)")


def check_tables():
    owner = {t: room for room, ts in OWNERS.items() for t in ts}
    problems = []
    for f in sorted(SRC.rglob("*.rs")):
        text = strip_comments(f.read_text())
        room = room_of(f)
        # `use crate::db::schema::user_group_membership as ugm;` and aliases inside `{...}`
        alias = dict((b, a) for a, b in re.findall(r"\b(\w+)\s+as\s+(\w+)\b", text))
        # `let target = local_user::table.filter(..);` then `diesel::update(target)`
        alias.update((b, a) for b, a in re.findall(r"\blet\s+(\w+)\s*=\s*(\w+)::table\b", text))
        for m in WRITE.finditer(text):
            target = m.group(2).split("::")
            # `schema::user::table`, `user::table.filter(..)` → user; `crate::db::schema::x` too
            names = [p for p in target if p not in ("crate", "db", "schema", "table", "dsl")]
            if not names:
                continue
            table = alias.get(names[-1], names[-1])
            if table not in owner:
                problems.append(f"{f.relative_to(SRC)}: writes table {table!r}, which has no owner in tools/house.py")
            elif owner[table] not in (room, str(f.relative_to(SRC))):
                problems.append(f"{f.relative_to(SRC)}: writes {owner[table]}'s table {table!r}")
    return problems


def main():
    problems = check_imports("--graph" in sys.argv) + check_tables()
    for p in problems:
        print(p)
    if problems:
        print(f"house: {len(problems)} problem(s)")
        sys.exit(1)
    print("house: imports run one way, every table is written by its owner")


if __name__ == "__main__":
    main()
