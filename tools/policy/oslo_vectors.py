"""Differential vectors: oslo.policy's parse (str(check)) and decision for rule strings.

    /opt/peer/venv/bin/python tools/policy/oslo_vectors.py \
        > keystone-rs/src/policy/testdata/oslo_vectors.json
Read by keystone-rs/src/policy/tests.rs (oslo_policy_vectors).
"""
import json, sys
from oslo_policy import _parser, _checks, policy
from oslo_config import cfg

conf = cfg.ConfigOpts()
conf([], project='x')
enf = policy.Enforcer(conf, use_conf=False)
named = {
    "admin_required": "role:admin or is_admin:1",
    "owner": "user_id:%(user_id)s",
    "admin_or_owner": "rule:admin_required or rule:owner",
    "loop": "rule:loop",
    "broken": "role:x or",
}
enf.set_rules({k: _parser.parse_rule(v) for k, v in named.items()}, use_conf=False)

creds = {
    "admin": {"user_id": "u1", "user_domain_id": "default", "system_scope": None, "domain_id": None,
              "project_id": "p1", "project_domain_id": "default", "roles": ["Admin", "member", "reader"],
              "is_admin_project": True, "service_user_id": None, "service_user_domain_id": None,
              "service_project_id": None, "service_project_domain_id": None, "service_roles": [],
              "token": {"project": {"id": "p1", "domain": {"id": "default", "name": "Default"}},
                        "roles": [{"id": "r1", "name": "admin"}, {"id": "r2", "name": "member"}],
                        "user": {"id": "u1", "domain": {"id": "default"}}, "is_domain": False,
                        "OS-OAUTH1": {"access_token_id": "at1"}}},
    "system_reader": {"user_id": "u2", "user_domain_id": "default", "system_scope": "all", "system": "all",
              "domain_id": None, "project_id": None, "project_domain_id": None, "roles": ["reader"],
              "is_admin_project": True, "service_roles": [], "token": {"system": {"all": True}}},
    "domain_manager": {"user_id": "u3", "user_domain_id": "d1", "system_scope": None, "domain_id": "d1",
              "project_id": None, "project_domain_id": None, "roles": ["manager", "member", "reader"],
              "is_admin_project": False, "service_roles": [], "token": {"domain": {"id": "d1", "name": "D1"}}},
}
targets = {
    "empty": {},
    "rich": {"user_id": "u1", "project_id": "p1", "target.user.id": "u1", "target.user.domain_id": "default",
             "target.domain_id": None, "target.project.domain_id": "d1", "target.role.name": "member",
             "enabled": True, "disabled": False, "n": 1, "f": 1.0, "big": 1e16, "neg": -1, "tags": ["a", "b"],
             "nested_list": [1, "x", None], "obj": {"a": 1}, "quote": "it's", "r": "ADMIN", "pct": "100%",
             "target.token.user_id": "u1", "unicode": "é\u200b"},
}
rules = [
    "", " ", "@", "!", "foo", "role:admin", "role:ADMIN", "ROLE:admin", "Role:admin", "role:Admin",
    "role:%(r)s", "role:%(missing)s", "role:nope", "rule:admin_required", "rule:nonexistent", "rule:owner",
    "rule:admin_or_owner", "rule:broken", "not rule:broken", "is_admin:1", "user_id:%(user_id)s",
    "user_id:%(missing)s", "not user_id:%(missing)s", "domain_id:%(target.domain_id)s",
    "None:%(target.domain_id)s", "not None:%(target.domain_id)s", "None:%(missing)s",
    "domain_id:%(target.project.domain_id)s", "'member':%(target.role.name)s", "\"member\":%(target.role.name)s",
    "'manager':%(target.role.name)s", "u'member':%(target.role.name)s",
    "True:%(enabled)s", "False:%(disabled)s", "True:%(disabled)s", "1:%(n)s", "1.0:%(f)s", "1e16:%(big)s",
    "-1:%(neg)s", "0x1:%(n)s", "1_0:10", "1.:1.0", "...:Ellipsis", "[]:[]", "None:None",
    "token.project.domain.id:default", "token.project.domain.id:%(target.user.domain_id)s",
    "token.domain.id:d1", "token.roles.name:admin", "token.roles.id:r2", "token.roles:x",
    "token.OS-OAUTH1.access_token_id:at1", "roles:Admin", "roles:admin", "system_scope:all", "system:all",
    "token.is_domain:False", "token.project:{'id': 'p1', 'domain': {'id': 'default', 'name': 'Default'}}",
    "project_id.x:1", "not project_id.x:1", "user_id.x:1", "token.roles.name.x:1",
    "tags:%(tags)s", "x:%(nested_list)s", "x:%(obj)s", "x:%(quote)r", "x:%(unicode)r",
    "user_id:100%", "user_id:%(n)d", "user_id:%(r)d", "user_id:%s", "user_id:%(n)05d", "user_id:%(n)x",
    "user_id:%%(user_id)s", ":x", "1abc:x", "if:x", "not 1abc:x", "a-b:x", "a+b:x", "f'x':x", "b'x':b'x'",
    "a:b:c", "a.b:c", "@ and !", "@ or !", "! or @", "not @", "not !", "not not @",
    "@ or ! and !", "(@ or !) and !", "! or not ! and @", "! and ! or @", "@ and @ and !",
    "(@)", "((@))", "()", "(@", "@)", "@ @", "and", "or @", "@ or", "not", "'@'", "'x':'y'", "\"@\"",
    "@ AND !", "@ Or !", "NOT !", "(not !)", "not (@ and !)", "(role:admin)", "(role:admin or role:x)",
    "(role:x or (role:y and role:admin))", "role:admin and (role:x or @)", "role:admin)", "(role:admin",
    "rule:loop", "not rule:loop", "role:admin or rule:loop", "http:x", "user_id:%(target.token.user_id)s",
    "@\u3000and\u00a0!", "@\x1cor\x1f!", "is_admin_project:True", "service_roles:x",
    "(rule:admin_required) or (role:reader and system_scope:all) or (role:reader and domain_id:%(target.domain_id)s and not None:%(target.domain_id)s)",
    "(rule:admin_required or (role:reader and system_scope:all)) or (role:manager and not domain_id:None)",
    "'manager':%(target.role.name)s or 'member':%(target.role.name)s or 'reader':%(target.role.name)s",
]
out = []
for rule in rules:
    check = _parser.parse_rule(rule)
    entry = {"rule": rule, "parsed": str(check), "results": {}}
    for cname, c in creds.items():
        for tname, t in targets.items():
            try:
                r = _checks._check(check, dict(t), dict(c), enf, None)
                res = bool(r)
            except RecursionError:
                res = "error"
            except Exception as e:
                res = "error"
            entry["results"][f"{cname}/{tname}"] = res
    out.append(entry)
lists = [[], [[]], [["role:admin"]], [["role:x"], ["role:admin", "role:member"]], ["role:admin"], [[], "role:admin"],
         ["role:x or role:admin"], [["@", "!"]], [[""]], [""]]
for lst in lists:
    check = _parser.parse_rule(lst)
    entry = {"list": lst, "parsed": str(check), "results": {}}
    for cname, c in creds.items():
        try:
            entry["results"][cname] = bool(_checks._check(check, {}, dict(c), enf, None))
        except Exception:
            entry["results"][cname] = "error"
    out.append(entry)
json.dump({"generated_by": "oslo.policy 6.0.1 (keystone peer), see policy/tests.rs", "creds": creds, "targets": targets,
           "rules": named, "cases": out}, sys.stdout, indent=1, ensure_ascii=False)
