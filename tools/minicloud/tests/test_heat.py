"""Heat through python-heatclient (`openstack stack …`) as the demo member: a stack of
resources that need no other service, created, signalled, updated and deleted. Creating it
makes a trust from the member to the heat service user (deferred_auth_method = trusts) and
a stack-domain project in the `heat` domain with a user for each wait condition handle: the
native handle is signalled with its user's token (heat-api's auth_token), the CloudFormation
one with a URL presigned with its user's EC2 credential (heat-api-cfn asks Keystone's
/v3/ec2tokens)."""

import json
import time

import pytest
import requests

TEMPLATE = """
heat_template_version: 2018-08-31
parameters:
  length:
    type: number
    default: 12
resources:
  secret:
    type: OS::Heat::RandomString
    properties:
      length: {get_param: length}
  nothing:
    type: OS::Heat::None
  handle:
    type: OS::Heat::WaitConditionHandle
  waiter:
    type: OS::Heat::WaitCondition
    properties:
      handle: {get_resource: handle}
      count: 1
      timeout: 600
  cfn_handle:
    type: AWS::CloudFormation::WaitConditionHandle
  cfn_waiter:
    type: AWS::CloudFormation::WaitCondition
    properties:
      Handle: {get_resource: cfn_handle}
      Timeout: 600
outputs:
  secret:
    value: {get_attr: [secret, value]}
  signalled:
    value: {get_attr: [waiter, data]}
  cfn_url:
    value: {get_resource: cfn_handle}
  cfn_signalled:
    value: {get_attr: [cfn_waiter, Data]}
"""


def wait_for(what, probe, timeout=240):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(2)


def outputs(stack):
    return {o["output_key"]: o["output_value"] for o in stack["outputs"]}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("heat") / "stack.yaml"
    path.write_text(TEMPLATE)
    return path


def test_stack_lifecycle_with_trust_and_stack_domain_user(cloud, template):
    demo = cloud.token("devstack")
    cloud.osc("devstack", "stack", "create", "-t", str(template), "minicloud-stack")

    # the handle exists once the engine created it: its stack-domain user's token signals it
    def handle_ready():
        rows = cloud.osc("devstack", "stack", "resource", "list", "minicloud-stack")
        states = {r["resource_name"]: r["resource_status"] for r in rows}
        if "FAILED" in " ".join(states.values()):
            raise AssertionError(f"stack failed: {rows}")
        return states.get("handle") == "CREATE_COMPLETE"
    wait_for("the wait condition handle", handle_ready)
    handle = cloud.osc("devstack", "stack", "resource", "show", "minicloud-stack", "handle")
    attributes = handle["attributes"]
    signal = requests.post(attributes["endpoint"], timeout=60,
                           headers={"X-Auth-Token": attributes["token"],
                                    "Content-Type": "application/json"},
                           data=json.dumps({"status": "SUCCESS", "data": "ready",
                                            "id": "1"}))
    assert signal.status_code == 200, signal.text
    # the presigned CloudFormation URL (an output resolves while the stack is in progress)
    cfn_url = cloud.osc("devstack", "stack", "output", "show", "minicloud-stack",
                        "cfn_url")["output_value"]
    assert "AWSAccessKeyId=" in cfn_url and "Signature=" in cfn_url
    signal = requests.put(cfn_url, timeout=60, headers={"Content-Type": "application/json"},
                          data=json.dumps({"Status": "SUCCESS", "Reason": "ready",
                                           "UniqueId": "1", "Data": "cfn-ready"}))
    assert signal.status_code == 200, signal.text

    # the stack's domain project and user live in the heat domain
    # (named "<project id>-<stack id>", cut at Keystone's 64 characters)
    stack = cloud.osc("devstack", "stack", "show", "minicloud-stack")
    stack_project = f"{demo['project_id']}-{stack['id']}"[:64]
    heat_projects = cloud.osc("devstack-system-admin", "project", "list", "--domain", "heat")
    assert [p["Name"] for p in heat_projects] == [stack_project]
    users = cloud.osc("devstack-system-admin", "role", "assignment", "list", "--project",
                      stack_project, "--project-domain", "heat", "--names")
    assert [r["Role"] for r in users] == ["heat_stack_user"] * 2, users
    # the member's trust to the heat service user (deferred authentication)
    trusts = cloud.osc("devstack-system-admin", "trust", "list")
    heat_user = cloud.osc("devstack-system-admin", "user", "show", "heat")
    mine = [t for t in trusts if t["Trustor User ID"] == demo["user_id"]
            and t["Trustee User ID"] == heat_user["id"]]
    assert len(mine) == 1, trusts

    def complete():
        s = cloud.osc("devstack", "stack", "show", "minicloud-stack")
        assert "FAILED" not in s["stack_status"], s
        return s if s["stack_status"] == "CREATE_COMPLETE" else None
    stack = wait_for("CREATE_COMPLETE", complete)
    out = outputs(stack)
    assert len(out["secret"]) == 12
    assert json.loads(out["signalled"]) == {"1": "ready"}
    assert json.loads(out["cfn_signalled"]) == {"1": "cfn-ready"}

    # update: a longer secret replaces the RandomString
    cloud.osc("devstack", "stack", "update", "--wait", "-t", str(template), "--parameter",
              "length=20", "minicloud-stack", json_out=False)
    stack = cloud.osc("devstack", "stack", "show", "minicloud-stack")
    assert stack["stack_status"] == "UPDATE_COMPLETE", stack
    assert len(outputs(stack)["secret"]) == 20

    cloud.osc("devstack", "stack", "delete", "--yes", "--wait", "minicloud-stack",
              json_out=False)
    assert cloud.osc("devstack", "stack", "list") == []
    # the stack-domain project and the trust went with the stack
    heat_projects = cloud.osc("devstack-system-admin", "project", "list", "--domain", "heat")
    assert heat_projects == [], heat_projects
    trusts = cloud.osc("devstack-system-admin", "trust", "list")
    assert not [t for t in trusts if t["Trustor User ID"] == demo["user_id"]], trusts
