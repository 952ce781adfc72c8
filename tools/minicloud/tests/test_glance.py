"""Glance (file store): an image created, uploaded, listed, downloaded and deleted through the
`openstack` CLI by a member of the demo project."""

import hashlib
import os


def test_member_image_lifecycle(cloud, tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    source = tmp_path / "disk.raw"
    source.write_bytes(data)
    image = cloud.osc("devstack", "image", "create", "--disk-format", "raw",
                      "--container-format", "bare", "--file", str(source), "minicloud-image")
    assert image["status"] == "active"
    assert image["size"] == len(data)
    assert image["visibility"] in ("shared", "private")
    demo = cloud.token("devstack")
    assert image["owner"] == demo["project_id"]

    listed = {i["ID"]: i for i in cloud.osc("devstack", "image", "list")}
    assert listed[image["id"]]["Name"] == "minicloud-image"
    # another project's member does not see a private image
    alt = {i["ID"] for i in cloud.osc("devstack-alt-member", "image", "list")}
    assert image["id"] not in alt

    saved = tmp_path / "saved.raw"
    cloud.osc("devstack", "image", "save", "--file", str(saved), image["id"], json_out=False)
    assert hashlib.sha256(saved.read_bytes()).digest() == hashlib.sha256(data).digest()

    cloud.osc("devstack", "image", "delete", image["id"], json_out=False)
    gone = cloud.osc("devstack", "image", "show", image["id"], check=False)
    assert gone.returncode != 0
