"""What devstack's create_keystone_accounts and the services' create_*_accounts leave in
Keystone, read back through the `openstack` CLI as devstack's own checks would."""


def test_service_users_have_service_and_admin_roles_in_service_project(cloud):
    for user in ("placement", "glance", "heat"):
        rows = cloud.osc("devstack-system-admin", "role", "assignment", "list", "--user", user,
                         "--project", "service", "--names")
        assert sorted(r["Role"] for r in rows) == ["admin", "service"], (user, rows)


def test_catalog_has_each_service_in_region_one(cloud):
    endpoints = cloud.osc("devstack-system-admin", "endpoint", "list")
    by_type = {e["Service Type"]: e for e in endpoints}
    assert set(by_type) >= {"identity", "placement", "image", "orchestration", "cloudformation"}
    assert all(e["Region"] == "RegionOne" and e["Interface"] == "public" for e in endpoints)
    assert by_type["placement"]["URL"] == cloud.urls["placement"]
    assert by_type["orchestration"]["URL"].endswith("/v1/$(project_id)s")


def test_roles_and_heat_domain(cloud):
    roles = {r["Name"] for r in cloud.osc("devstack-system-admin", "role", "list")}
    assert roles >= {"admin", "member", "reader", "service", "ResellerAdmin", "anotherrole",
                     "heat_stack_user"}
    domain = cloud.osc("devstack-system-admin", "domain", "show", "heat")
    assert domain["description"] == "Owns users and projects created by heat"
    rows = cloud.osc("devstack-system-admin", "role", "assignment", "list", "--user",
                     "heat_domain_admin", "--user-domain", "heat", "--domain", "heat", "--names")
    assert [r["Role"] for r in rows] == ["admin"]


def test_devstack_clouds_authenticate_with_their_scopes(cloud):
    demo = cloud.token("devstack")
    assert demo["project_id"]
    system = cloud.osc("devstack-system-reader", "token", "issue")
    assert "project_id" not in system or not system["project_id"]
