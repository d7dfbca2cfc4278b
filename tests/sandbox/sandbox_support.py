"""Helpers shared by the sandbox tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

REGION = "us-east-1"
OTHER = "111122223333"
ORG = "arn:aws:organizations::123456789012:organization/o-abc123def4"
OU = "arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab12-cd34ef56"


def error_of(call: Callable[..., Any], **kwargs: Any) -> tuple[int, str, str]:
    """(HTTP status, code, message) of the ClientError the call raises."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


def launch_permissions(ec2: Any, image_id: str) -> list[dict[str, str]]:
    answer = ec2.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
    return sorted(answer["LaunchPermissions"], key=lambda p: sorted(p.items()))


def image(ec2: Any, image_id: str) -> dict[str, Any]:
    result: dict[str, Any] = ec2.describe_images(ImageIds=[image_id])["Images"][0]
    return result


def snapshot_id(ec2: Any, image_id: str) -> str:
    return str(image(ec2, image_id)["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"])
