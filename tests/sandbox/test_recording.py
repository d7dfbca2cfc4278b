"""The request record: every request, its flat parameters, DryRun flag and answer."""

from __future__ import annotations

import threading
from typing import Any

from amictl.sandbox import Sandbox
from tests.sandbox.sandbox_support import ORG, OTHER, error_of


def test_requests_carry_flat_params(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img")
    ec2.modify_image_attribute(
        ImageId=image_id,
        LaunchPermission={"Add": [{"UserId": OTHER}, {"OrganizationArn": ORG}]},
    )
    (recorded,) = sandbox.requests
    assert (recorded.service, recorded.region, recorded.action) == (
        "ec2",
        "us-east-1",
        "ModifyImageAttribute",
    )
    assert recorded.params == {
        "ImageId": image_id,
        "LaunchPermission.Add.1.UserId": OTHER,
        "LaunchPermission.Add.2.OrganizationArn": ORG,
    }
    assert (recorded.dry_run, recorded.error, recorded.status, recorded.fault) == (
        False,
        None,
        200,
        None,
    )


def test_errors_and_dry_runs_are_recorded(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img", product_code="abc")
    error_of(
        ec2.modify_image_attribute,
        ImageId=image_id,
        LaunchPermission={"Add": [{"Group": "all"}]},
    )
    error_of(ec2.modify_image_attribute, ImageId=image_id, Description={"Value": "d"}, DryRun=True)
    first, second = sandbox.requests
    assert (first.error, first.status, first.dry_run) == ("OperationNotPermitted", 400, False)
    assert (second.error, second.status, second.dry_run) == ("DryRunOperation", 412, True)
    assert second.params["DryRun"] == "true"


def test_mutating_requests_filters(sandbox: Sandbox, client: Any) -> None:
    ec2 = client()
    image_id = sandbox.create_image("us-east-1", "img")
    ec2.describe_images(ImageIds=[image_id])
    ec2.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
    ec2.get_image_block_public_access_state()
    error_of(ec2.modify_image_attribute, ImageId=image_id, Description={"Value": "d"}, DryRun=True)
    ec2.modify_image_attribute(ImageId=image_id, Description={"Value": "d"})
    ec2.reset_image_attribute(ImageId=image_id, Attribute="launchPermission")
    ec2.enable_image_block_public_access(ImageBlockPublicAccessState="block-new-sharing")
    ec2.disable_image_block_public_access()
    client("kms").list_keys()

    assert [r.action for r in sandbox.mutating_requests()] == [
        "ModifyImageAttribute",
        "ModifyImageAttribute",
        "ResetImageAttribute",
        "EnableImageBlockPublicAccess",
        "DisableImageBlockPublicAccess",
    ]
    assert len(sandbox.mutating_requests("ModifyImageAttribute")) == 2
    assert len(sandbox.mutating_requests("ModifyImageAttribute", include_dry_run=False)) == 1
    assert sandbox.count("ModifyImageAttribute") == 2
    assert sandbox.count("DescribeImages") == 1
    assert sandbox.requests[-1].service == "kms"
    assert sandbox.requests[-1].action == "ListKeys"

    sandbox.clear_requests()
    assert sandbox.requests == []
    assert sandbox.mutating_requests() == []


def test_recording_is_thread_safe(sandbox: Sandbox, ec2: Any) -> None:
    def call() -> None:
        for _ in range(5):
            ec2.describe_images()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sandbox.count("DescribeImages") == 20


def test_requests_is_a_copy(sandbox: Sandbox, ec2: Any) -> None:
    ec2.describe_images()
    snapshot = sandbox.requests
    ec2.describe_images()
    assert len(snapshot) == 1 and len(sandbox.requests) == 2
