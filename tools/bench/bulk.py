"""Bulk deployments for the scale scenarios, written straight into Keystone's schema.

Seeding tens of thousands of users through the API is bound by bcrypt and takes hours on the
peer; the rows a real deployment holds are the same whoever wrote them, so this writes them
with plain INSERTs into the database of a prepared (db_sync + bootstrap) server, in Keystone's
own tables and formats (both keystone-rs and Python Keystone read them as their own):

    size  users   projects (3 levels)  groups  assignments  memberships  revocation events  services
    S     -       -                    -       -            -            -                  -
    M     10,000  1,000                1,000   50,000       30,100       1,000              50
    L     100,000 10,000               10,000  500,000      300,100      10,000             500

(S is the API-seeded fixture alone; M and L are added beside it, in a domain of their own.)
Each service has a public, internal and admin endpoint in RegionOne. Assignments are direct
and through groups, on projects and on the domain, some inherited; user 0 is in 100 groups
(the subject of the effective role-assignment scenario). Every id and name comes from a
seeded random generator, so two servers seeded alike hold the same users, projects and
groups under the same ids, and a run can be repeated.

    python bulk.py --size M --database sqlite:////tmp/x/keystone.db     (alone, for a look)
"""

from __future__ import annotations

import argparse
import base64
import datetime
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import bcrypt

DOMAIN_NAME = "bench-bulk"
PASSWORD = "bulk-password"
# Keystone's default bcrypt cost: the scenarios that verify these passwords measure the same
# work as a deployment that never set `[identity] password_hash_rounds`.
BCRYPT_ROUNDS = 12
MANY_GROUPS = 100  # user 0's group count


@dataclass(frozen=True)
class Size:
    users: int
    top_projects: int  # children of the domain; each has `mid_per_top` children, which
    mid_per_top: int  # each have `leaves_per_mid` children
    leaves_per_mid: int
    groups: int
    assignments: int
    groups_per_user: int
    revocation_events: int
    services: int

    @property
    def projects(self) -> int:
        mids = self.top_projects * self.mid_per_top
        return self.top_projects + mids + mids * self.leaves_per_mid


SIZES = {
    "M": Size(users=10_000, top_projects=10, mid_per_top=9, leaves_per_mid=10, groups=1_000,
              assignments=50_000, groups_per_user=3, revocation_events=1_000, services=50),
    "L": Size(users=100_000, top_projects=100, mid_per_top=9, leaves_per_mid=10,
              groups=10_000, assignments=500_000, groups_per_user=3,
              revocation_events=10_000, services=500),
}


@dataclass
class Deployment:
    """What was written, for the scenarios: ids in creation order."""

    size: str
    domain_id: str
    user_ids: list[str] = field(default_factory=list)
    user_names: list[str] = field(default_factory=list)
    project_ids: list[str] = field(default_factory=list)  # tops, then mids, then leaves
    leaf_ids: list[str] = field(default_factory=list)
    group_ids: list[str] = field(default_factory=list)
    # (user id, project id) pairs where the user holds the member role directly
    member_of: list[tuple[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class Sql:
    """The three databases Keystone runs on, behind one `insert` (DB-API, paramstyle aside)."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        scheme = parts.scheme.split("+")[0]
        self.kind = {"postgres": "postgresql", "mariadb": "mysql"}.get(scheme, scheme)
        if self.kind == "sqlite":
            import sqlite3
            path = url.split("sqlite:///", 1)[1]
            self.conn = sqlite3.connect(path)
            self.mark, self.quote = "?", '"'
        elif self.kind == "postgresql":
            import psycopg2
            self.conn = psycopg2.connect(host=parts.hostname, port=parts.port or 5432,
                                         user=unquote(parts.username or "postgres"),
                                         password=unquote(parts.password or ""),
                                         dbname=parts.path.lstrip("/"))
            self.mark, self.quote = "%s", '"'
        elif self.kind == "mysql":
            import pymysql
            self.conn = pymysql.connect(host=parts.hostname, port=parts.port or 3306,
                                        user=unquote(parts.username or "root"),
                                        password=unquote(parts.password or ""),
                                        database=parts.path.lstrip("/"))
            self.mark, self.quote = "%s", "`"
        else:
            raise SystemExit(f"unsupported database URL {url!r}")

    def insert(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        q = self.quote
        sql = (f"INSERT INTO {q}{table}{q} ({', '.join(columns)}) "
               f"VALUES ({', '.join([self.mark] * len(columns))})")
        cur = self.conn.cursor()
        if self.kind == "postgresql":
            # psycopg2's executemany is a round trip per row; execute_values sends pages of
            # rows in one INSERT each (PyMySQL's executemany already does that).
            from psycopg2.extras import execute_values
            execute_values(cur, sql.rsplit(" VALUES ", 1)[0] + " VALUES %s", rows,
                           page_size=1_000)
            return
        for start in range(0, len(rows), 5_000):
            cur.executemany(sql, rows[start:start + 5_000])

    def follow_ids(self, table: str) -> None:
        """After rows were inserted with explicit ids into an auto-increment column: the
        next id the database hands out must come after them. SQLite (max + 1) and MariaDB
        (InnoDB moves its counter past an explicit id) do that themselves; a PostgreSQL
        sequence does not, and the API's next user would collide with a bulk one."""
        if self.kind == "postgresql":
            self.scalar(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT MAX(id) FROM {self.quote}{table}{self.quote}))", ())

    def scalar(self, sql: str, params: tuple) -> object:
        cur = self.conn.cursor()
        cur.execute(sql.replace("?", self.mark), params)
        row = cur.fetchone()
        return row[0] if row else None

    def timestamp(self, value: datetime.datetime):
        # SQLAlchemy keeps SQLite's DATETIME as this text; the other drivers take datetimes.
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if self.kind == "sqlite" else value


def role_id(db: Sql, name: str) -> str:
    found = db.scalar("SELECT id FROM role WHERE name = ? AND domain_id = '<<null>>'", (name,))
    if found is None:
        raise SystemExit(f"no global role {name!r}: run bootstrap first")
    return str(found)


def seed(url: str, size_name: str, seed_value: int = 22) -> Deployment:
    db = Sql(url)
    try:
        dep = write(db, size_name, seed_value)
        db.conn.commit()
        return dep
    finally:
        # also when a write failed: its open transaction would hold the locks that the
        # bench's DROP DATABASE of the scratch database waits for (MariaDB), for as long
        # as the traceback keeps this connection alive
        db.conn.close()


def write(db: Sql, size_name: str, seed_value: int) -> Deployment:
    """The deployment's rows, in one transaction the caller commits."""
    size = SIZES[size_name]
    rng = random.Random(seed_value)

    def new_id() -> str:
        return uuid.UUID(int=rng.getrandbits(128), version=4).hex

    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    member, reader = role_id(db, "member"), role_id(db, "reader")
    dep = Deployment(size=size_name, domain_id=new_id())

    # The domain, and its three levels of projects (a top-level project's parent is its domain).
    db.insert("project", ("id", "name", "extra", "description", "enabled", "domain_id",
                          "parent_id", "is_domain"),
              [(dep.domain_id, DOMAIN_NAME, "{}", "scale benchmark", True,
                "<<keystone.domain.root>>", None, True)])
    projects = []

    def project(name: str, parent: str) -> str:
        pid = new_id()
        projects.append((pid, name, "{}", "", True, dep.domain_id, parent, False))
        return pid

    tops = [project(f"top-{t:04d}", dep.domain_id) for t in range(size.top_projects)]
    mids = [project(f"mid-{t:04d}-{m}", top) for t, top in enumerate(tops)
            for m in range(size.mid_per_top)]
    leaves = [project(f"leaf-{i:05d}-{leaf}", mid) for i, mid in enumerate(mids)
              for leaf in range(size.leaves_per_mid)]
    db.insert("project", ("id", "name", "extra", "description", "enabled", "domain_id",
                          "parent_id", "is_domain"), projects)
    dep.project_ids, dep.leaf_ids = tops + mids + leaves, leaves

    # Users with a local password each: one bcrypt hash at Keystone's cost, shared (the cost of
    # verifying it is what matters, not its salt).
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(BCRYPT_ROUNDS)).decode()
    created = db.timestamp(now)
    created_int = int(now.replace(tzinfo=datetime.timezone.utc).timestamp() * 1_000_000)
    users, locals_, passwords = [], [], []
    first_local = int(db.scalar("SELECT COALESCE(MAX(id), 0) FROM local_user", ())) + 1
    first_password = int(db.scalar("SELECT COALESCE(MAX(id), 0) FROM password", ())) + 1
    for i in range(size.users):
        uid, name = new_id(), f"bulk-user-{i:06d}"
        dep.user_ids.append(uid)
        dep.user_names.append(name)
        users.append((uid, "{}", True, None, created, None, dep.domain_id))
        locals_.append((first_local + i, uid, dep.domain_id, name, 0, None))
        passwords.append((first_password + i, first_local + i, None, False, hashed,
                          created_int, None, created))
    db.insert("user", ("id", "extra", "enabled", "default_project_id", "created_at",
                       "last_active_at", "domain_id"), users)
    db.insert("local_user", ("id", "user_id", "domain_id", "name", "failed_auth_count",
                             "failed_auth_at"), locals_)
    db.insert("password", ("id", "local_user_id", "expires_at", "self_service",
                           "password_hash", "created_at_int", "expires_at_int", "created_at"),
              passwords)
    db.follow_ids("local_user")
    db.follow_ids("password")

    dep.group_ids = [new_id() for _ in range(size.groups)]
    db.insert("group", ("id", "domain_id", "name", "description", "extra"),
              [(gid, dep.domain_id, f"bulk-group-{g:05d}", "", "{}")
               for g, gid in enumerate(dep.group_ids)])
    memberships = {(dep.user_ids[0], gid) for gid in dep.group_ids[:MANY_GROUPS]}
    for uid in dep.user_ids[1:]:
        for gid in rng.sample(dep.group_ids, size.groups_per_user):
            memberships.add((uid, gid))
    db.insert("user_group_membership", ("user_id", "group_id"), sorted(memberships))

    # Assignments: every user a member of one leaf (the distinct-token scenarios' scopes), a
    # tenth readers of the domain, every group members of leaves and inherited readers of a
    # mid-level project, the rest direct readers on random projects.
    assignments: set[tuple] = set()
    for i, uid in enumerate(dep.user_ids):
        leaf = leaves[i % len(leaves)]
        dep.member_of.append((uid, leaf))
        assignments.add(("UserProject", uid, leaf, member, False))
        if i % 10 == 0:
            assignments.add(("UserDomain", uid, dep.domain_id, reader, False))
    for g, gid in enumerate(dep.group_ids):
        assignments.add(("GroupProject", gid, mids[g % len(mids)], reader, True))
        for leaf in rng.sample(leaves, 20):
            assignments.add(("GroupProject", gid, leaf, member, False))
        if g % 10 == 0:
            assignments.add(("GroupDomain", gid, dep.domain_id, reader, False))
    while len(assignments) < size.assignments:
        assignments.add(("UserProject", rng.choice(dep.user_ids),
                         rng.choice(dep.project_ids), reader, False))
    db.insert("assignment", ("type", "actor_id", "target_id", "role_id", "inherited"),
              sorted(assignments))

    # Revocation events as a cloud accumulates them (users disabled, passwords changed, tokens
    # revoked by audit id): all older than any token the scenarios present, so none revokes
    # one, but a validation that walks them all pays for each.
    day_ago = db.timestamp(now - datetime.timedelta(days=1))
    expires = db.timestamp(now + datetime.timedelta(days=1))
    events = []
    for e in range(size.revocation_events):
        if e % 2:
            events.append((rng.choice(dep.user_ids), None, day_ago, expires, day_ago))
        else:
            audit = uuid.UUID(int=rng.getrandbits(128)).bytes
            events.append((None, base64.urlsafe_b64encode(audit).decode().rstrip("="),
                           day_ago, expires, day_ago))
    db.insert("revocation_event", ("user_id", "audit_id", "issued_before", "expires_at",
                                   "revoked_at"), events)

    services, endpoints = [], []
    for s in range(size.services):
        sid = new_id()
        services.append((sid, f"bulk-type-{s:04d}", True,
                         f'{{"name": "bulk-service-{s:04d}"}}'))
        for interface in ("public", "internal", "admin"):
            endpoints.append((new_id(), None, interface, sid,
                              f"http://bulk-{s:04d}.example.com:{8000 + s}/{interface}", "{}",
                              True, "RegionOne"))
    db.insert("service", ("id", "type", "enabled", "extra"), services)
    db.insert("endpoint", ("id", "legacy_endpoint_id", "interface", "service_id", "url",
                           "extra", "enabled", "region_id"), endpoints)
    dep.counts = {"users": len(users), "projects": len(projects), "groups": size.groups,
                  "memberships": len(memberships), "assignments": len(assignments),
                  "revocation_events": len(events), "services": len(services),
                  "endpoints": len(endpoints)}
    return dep


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", choices=sorted(SIZES), required=True)
    p.add_argument("--database", required=True, help="a Keystone [database] connection URL")
    p.add_argument("--seed", type=int, default=22)
    args = p.parse_args(argv)
    started = time.monotonic()
    dep = seed(args.database, args.size, args.seed)
    print(f"{args.size}: {dep.counts} in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
