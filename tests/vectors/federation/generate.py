"""Mapping-engine vectors: what Keystone's own RuleProcessor makes of each case.

Run with the peer venv's Python (upstream Keystone installed):
    $INTEROP_PEER_VENV/bin/python tests/vectors/federation/generate.py > tests/vectors/federation/mapping_engine.json

Each case: rules, schema_version, assertion (ordered pairs), and either the processor's
result (`expected`) or the exception class it raised (`error`). group_ids come out of a
Python set: compare them as a set.
"""

import json
import sys

import keystone.conf
from keystone.federation import utils

DOMAIN = {"id": "d0"}


def rule(local, remote):
    return {"local": local, "remote": remote}


CASES = [
    ("user_name_email_and_group_by_id", "1.0",
     [rule([{"user": {"name": "{0} {1}", "email": "{2}"}, "group": {"id": "0cd5e9"}}],
           [{"type": "FirstName"}, {"type": "LastName"}, {"type": "Email"}])],
     [["FirstName", "Jane"], ["LastName", "Doe"], ["Email", "jane@example.com"]]),
    ("group_by_name_multi_value_is_one_repr_name", "1.0",
     [rule([{"user": {"name": "{0}"}, "group": {"name": "{1}", "domain": {"id": "d0"}}}],
           [{"type": "UserName"}, {"type": "OIDC_GROUPS"}])],
     [["UserName", "jane"], ["OIDC_GROUPS", "developers;testers"]]),
    ("groups_with_domain_split_multi_values", "1.0",
     [rule([{"user": {"name": "{0}"}}, {"groups": "{1}", "domain": DOMAIN}],
           [{"type": "UserName"}, {"type": "GROUPS"}])],
     [["UserName", "jane"], ["GROUPS", "a;b;c"]]),
    ("groups_single_value", "1.0",
     [rule([{"user": {"name": "{0}"}}, {"groups": "{1}", "domain": {"name": "Federated"}}],
           [{"type": "UserName"}, {"type": "GROUPS"}])],
     [["UserName", "jane"], ["GROUPS", "admins"]]),
    ("groups_without_domain_is_an_error", "1.0",
     [rule([{"user": {"name": "{0}"}}, {"groups": "{1}"}],
           [{"type": "UserName"}, {"type": "GROUPS"}])],
     [["UserName", "jane"], ["GROUPS", "admins"]]),
    ("groups_as_json_entries", "1.0",
     [rule([{"user": {"name": "{0}"}}, {"groups": "{1}"}],
           [{"type": "UserName"}, {"type": "GROUPS"}])],
     [["UserName", "jane"],
      ["GROUPS", 'JSON:{"name":"g1","domain":{"name":"d1"}};JSON:{"name":"g2","domain":{"id":"x"}}']]),
    ("group_ids_list", "1.0",
     [rule([{"user": {"name": "{0}"}}, {"group_ids": "{1}"}],
           [{"type": "UserName"}, {"type": "GIDS"}])],
     [["UserName", "jane"], ["GIDS", "abc;def"]]),
    ("group_ids_single", "1.0",
     [rule([{"user": {"name": "{0}"}}, {"group_ids": "{1}"}],
           [{"type": "UserName"}, {"type": "GIDS"}])],
     [["UserName", "jane"], ["GIDS", "abc"]]),
    ("any_one_of_matches", "1.0",
     [rule([{"user": {"name": "{0}"}}, {"group": {"id": "g-admin"}}],
           [{"type": "UserName"}, {"type": "orgPersonType", "any_one_of": ["Admin", "Contractor"]}])],
     [["UserName", "bob"], ["orgPersonType", "Contractor;Guest"]]),
    ("any_one_of_no_match_no_identity", "1.0",
     [rule([{"user": {"name": "{0}"}}],
           [{"type": "UserName"}, {"type": "orgPersonType", "any_one_of": ["Admin"]}])],
     [["UserName", "bob"], ["orgPersonType", "Guest"]]),
    ("not_any_of_regex", "1.0",
     [rule([{"user": {"name": "{0}"}}],
           [{"type": "UserName"}, {"type": "orgPersonType", "not_any_of": [".*Guest.*"], "regex": True}])],
     [["UserName", "bob"], ["orgPersonType", "Staff"]]),
    ("whitelist_single_survivor", "1.0",
     [rule([{"user": {"name": "{0}"}}, {"groups": "{1}", "domain": DOMAIN}],
           [{"type": "UserName"}, {"type": "GROUPS", "whitelist": ["g1", "g9"]}])],
     [["UserName", "bob"], ["GROUPS", "g1;g2;g3"]]),
    ("blacklist_regex_single_survivor", "1.0",
     [rule([{"user": {"name": "{0}"}}, {"groups": "{1}", "domain": DOMAIN}],
           [{"type": "UserName"}, {"type": "GROUPS", "blacklist": ["^adm"], "regex": True}])],
     [["UserName", "bob"], ["GROUPS", "admins;users"]]),
    ("local_user_type", "1.0",
     [rule([{"user": {"name": "{0}", "type": "local", "domain": {"name": "Default"}}}],
           [{"type": "UserName"}])],
     [["UserName", "bob"]]),
    ("projects_v1_keep_no_domain", "1.0",
     [rule([{"user": {"name": "{0}"}, "projects": [{"name": "p-{0}", "roles": [{"name": "member"}]}]}],
           [{"type": "UserName"}])],
     [["UserName", "bob"]]),
    ("projects_v2_take_mapping_domain", "2.0",
     [rule([{"user": {"name": "{0}"}, "projects": [{"name": "p-{0}", "roles": [{"name": "member"}]},
                                                  {"name": "q", "roles": [{"name": "reader"}], "domain": {"id": "own"}}],
             "domain": {"name": "mapdom"}}],
           [{"type": "UserName"}])],
     [["UserName", "bob"]]),
    ("user_domain_v2_from_last_identity_value", "2.0",
     [rule([{"user": {"name": "{0}"}}, {"group": {"id": "g"}, "domain": {"id": "last"}}],
           [{"type": "UserName"}])],
     [["UserName", "bob"]]),
    ("projects_json_v3", "3.0",
     [rule([{"user": {"name": "{0}"}, "projects_json": "{1}"}],
           [{"type": "UserName"}, {"type": "PROJECTS"}])],
     [["UserName", "bob"], ["PROJECTS", '[{"name": "pj", "roles": [{"name": "member"}]}]']]),
    ("first_user_wins_later_rules_add_groups", "1.0",
     [rule([{"user": {"name": "{0}"}}], [{"type": "UserName"}]),
      rule([{"user": {"name": "other"}}, {"group": {"id": "g2"}}], [{"type": "Email"}])],
     [["UserName", "bob"], ["Email", "b@x"]]),
    ("no_direct_maps_still_format_and_fail_on_a_reference", "1.0",
     [rule([{"user": {"name": "{0}"}}], [{"type": "UserName", "any_one_of": ["bob"]}])],
     [["UserName", "bob"]]),
    ("no_direct_maps_still_unescape_braces", "1.0",
     [rule([{"user": {"name": "fixed {{x}}"}}], [{"type": "UserName", "any_one_of": ["bob"]}])],
     [["UserName", "bob"]]),
    ("missing_attribute_skips_rule", "1.0",
     [rule([{"user": {"name": "{0}"}}], [{"type": "Missing"}]),
      rule([{"user": {"id": "{0}"}}], [{"type": "UserName"}])],
     [["UserName", "bob"]]),
    ("ephemeral_default_and_repeated_group_names", "1.0",
     [rule([{"user": {"name": "{0}"}},
            {"group": {"name": "a", "domain": {"id": "d"}}},
            {"group": {"name": "b", "domain": {"id": "d"}}}],
           [{"type": "UserName"}])],
     [["UserName", "bob"]]),
]


def main():
    keystone.conf.configure()
    keystone.conf.CONF([], project='keystone', default_config_files=[])
    out = []
    for name, version, rules, pairs in CASES:
        case = {"name": name, "schema_version": version, "rules": rules, "assertion": pairs}
        processor = utils.IDP_ATTRIBUTE_MAPPING_SCHEMAS[version]["processor"]("m", rules)
        try:
            case["expected"] = processor.process(dict(pairs))
        except Exception as e:  # the class is what the vector records
            case["error"] = type(e).__name__
        out.append(case)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
