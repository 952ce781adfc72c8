"""Regenerate policy/policy.yaml from a Python Keystone's registered defaults.

Run with the peer's interpreter (shared/tools/peer):
    /opt/peer/venv/bin/python tools/policy/dump_defaults.py > policy/policy.yaml
Only data is taken (names, check strings, scope_types, deprecated rules, operations).
"""
import json, sys, re
from keystone.common import policies
import keystone.common.policies as P
import pkgutil, importlib

out = []
out.append("""\
# keystone-rs default policy: the rules Keystone 30.0.0 registers in code
# (keystone.common.policies), in the oslo.policy rule language.
#
# This file is compiled into keystone-rs. Do not edit it to change a deployment's
# policy: put the rules you want to change into the file named by
# [oslo_policy] policy_file (default policy.yaml, found next to keystone.conf) or into a
# file under [oslo_policy] policy_dirs (default policy.d). A rule there replaces the rule
# of the same name below; scope_types stay those recorded here.
#
# Each rule may be preceded by metadata lines starting with "#@", one YAML mapping each,
# that keystone-rs reads (other "#" lines are for people):
#   #@ scope_types: [system, domain, project]
#        token scopes the rule accepts; absent = any scope (never refused on scope)
#   #@ deprecated: {check_str: "...", since: X}
#        the previous default; with [oslo_policy] enforce_new_defaults = false and no
#        override, the rule evaluated is "(<new>) or (<deprecated>)"
#   #@ deprecated_for_removal: true
#        registered but not enforceable as an API action
""")

# group by policy module, in list_rules() order
rules = list(policies.list_rules())
# Find module of each rule by scanning submodules
owner = {}
for m in pkgutil.iter_modules(P.__path__):
    mod = importlib.import_module('keystone.common.policies.' + m.name)
    if hasattr(mod, 'list_rules'):
        for r in mod.list_rules():
            owner.setdefault(r.name, m.name)
last = None
def q(s):
    return json.dumps(s)
for r in rules:
    grp = owner.get(r.name, '?')
    if grp != last:
        out.append("")
        out.append("# " + "-" * 88)
        out.append("# " + grp)
        out.append("# " + "-" * 88)
        last = grp
    out.append("")
    for op in getattr(r, 'operations', []) or []:
        out.append(f"# {op['method']} {op['path']}")
    if r.scope_types:
        out.append("#@ scope_types: [" + ", ".join(r.scope_types) + "]")
    d = r.deprecated_rule
    if d:
        assert d.name == r.name, r.name
        out.append("#@ deprecated: {check_str: " + q(d.check_str) + ", since: " + q({"S": "Stein", "T": "Train", "U": "Ussuri", "V": "Victoria", "W": "Wallaby", "X": "Xena"}.get(d.deprecated_since or r.deprecated_since or "", d.deprecated_since or r.deprecated_since or "")) + "}")
    if r.deprecated_for_removal:
        out.append("#@ deprecated_for_removal: true")
    out.append(q(r.name) + ": " + q(r.check_str))
sys.stdout.write("\n".join(out) + "\n")
