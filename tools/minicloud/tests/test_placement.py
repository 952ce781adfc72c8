"""Placement through osc-placement: a resource provider, its inventory and allocations,
created by the admin and by a service (the `service` role, as nova-compute would), read by
the admin and — its project's usage only — by a member."""

import configparser
import subprocess
import uuid

import pytest

API = ("--os-placement-api-version", "1.39")


@pytest.fixture(scope="module")
def provider(cloud):
    name = f"compute-{uuid.uuid4().hex[:8]}"
    rp = cloud.osc("devstack-admin", *API, "resource", "provider", "create", name)
    cloud.osc("devstack-admin", *API, "resource", "provider", "inventory", "set", rp["uuid"],
              "--resource", "VCPU=8", "--resource", "MEMORY_MB=4096",
              "--resource", "VCPU:allocation_ratio=2.0")
    return rp


def test_admin_reads_provider_and_inventory(cloud, provider):
    shown = cloud.osc("devstack-admin", *API, "resource", "provider", "show", provider["uuid"])
    assert shown["name"] == provider["name"]
    inventory = {i["resource_class"]: i for i in cloud.osc(
        "devstack-admin", *API, "resource", "provider", "inventory", "list", provider["uuid"])}
    assert inventory["VCPU"]["total"] == 8 and inventory["VCPU"]["allocation_ratio"] == 2.0
    assert inventory["MEMORY_MB"]["total"] == 4096


def test_allocation_for_the_demo_project_read_back_as_admin_and_member(cloud, provider):
    demo = cloud.token("devstack")
    consumer = str(uuid.uuid4())
    cloud.osc("devstack-admin", *API, "resource", "provider", "allocation", "set", consumer,
              "--allocation", f"rp={provider['uuid']},VCPU=2,MEMORY_MB=512",
              "--project-id", demo["project_id"], "--user-id", demo["user_id"],
              "--consumer-type", "INSTANCE")
    try:
        allocation = cloud.osc("devstack-admin", *API, "resource", "provider", "allocation",
                               "show", consumer)
        assert allocation[0]["resources"] == {"VCPU": 2, "MEMORY_MB": 512}
        usage = {u["resource_class"]: u["usage"] for u in cloud.osc(
            "devstack-admin", *API, "resource", "provider", "usage", "show", provider["uuid"])}
        assert usage == {"VCPU": 2, "MEMORY_MB": 512}
        # a member (its `reader` role implied by `member`) reads its own project's usage, by
        # consumer type since microversion 1.38 (osc-placement names it "resource_class")
        mine = {u["resource_class"]: u["usage"] for u in cloud.osc(
            "devstack", *API, "resource", "usage", "show", demo["project_id"])}
        assert mine == {"INSTANCE": {"VCPU": 2, "MEMORY_MB": 512, "consumer_count": 1}}
        # …and is refused another project's usage, and every admin operation
        alt = cloud.token("devstack-alt")
        refused = cloud.osc("devstack", *API, "resource", "usage", "show", alt["project_id"],
                            check=False)
        assert refused.returncode != 0 and "403" in refused.stderr + refused.stdout
        refused = cloud.osc("devstack", *API, "resource", "provider", "list", check=False)
        assert refused.returncode != 0 and "403" in refused.stderr + refused.stdout
    finally:
        cloud.osc("devstack-admin", *API, "resource", "provider", "allocation", "delete",
                  consumer, json_out=False)


def test_service_role_manages_providers(cloud):
    """The placement user itself (role `service` in project `service`), as nova does."""
    # the password placement.conf holds (test_negative.py rotates it)
    conf = configparser.RawConfigParser()
    conf.read(cloud.conf("placement/placement.conf"))
    creds = {"OS_AUTH_URL": cloud.urls["keystone"], "OS_USERNAME": "placement",
             "OS_PASSWORD": conf["keystone_authtoken"]["password"],
             "OS_PROJECT_NAME": "service", "OS_USER_DOMAIN_ID": "default",
             "OS_PROJECT_DOMAIN_ID": "default", "OS_IDENTITY_API_VERSION": "3",
             "OS_REGION_NAME": "RegionOne"}
    env = dict(cloud.env, **creds)
    env.pop("OS_CLIENT_CONFIG_FILE", None)
    done = subprocess.run(["openstack", *API, "resource", "provider", "create",
                           f"compute-{uuid.uuid4().hex[:8]}",
                           "-f", "value", "-c", "uuid"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rp = done.stdout.strip()
    done = subprocess.run(["openstack", *API, "resource", "provider", "delete", rp], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
