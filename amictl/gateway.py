"""The interface the core uses to talk to EC2. `ec2.Boto3Gateway` implements it with boto3;
tests may implement it in memory. No boto3 here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .model import ImageRef, ImageState, LaunchTargets, ReadError, Request, SnapshotState


@dataclass(frozen=True)
class Filter:
    """An EC2 DescribeImages filter: Name=VALUE[,VALUE]."""

    name: str
    values: tuple[str, ...]


class Ec2Gateway(Protocol):
    def enabled_regions(self) -> list[str]:
        """Every region enabled for the account (for `--region all`)."""
        ...

    def describe_images(
        self,
        region: str,
        image_ids: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        owned_only: bool = False,
    ) -> tuple[list[ImageState], list[ReadError]]:
        """One paginated DescribeImages. Explicit IDs that are not found come back as
        ReadError(InvalidAMIID.NotFound). The states have launch.public set but no
        accounts/orgs/OUs (those need `launch_permissions`), and snapshots with only
        `snapshot_id` and `encrypted` known."""
        ...

    def launch_permissions(self, ref: ImageRef) -> LaunchTargets:
        """DescribeImageAttribute(launchPermission)."""
        ...

    def snapshot_details(
        self, region: str, snapshot_ids: Sequence[str]
    ) -> dict[str, SnapshotState]:
        """DescribeSnapshots (batched) plus KMS DescribeKey per distinct key: encryption,
        key ID and key manager. Snapshots the caller cannot see are left out."""
        ...

    def snapshot_permissions(self, region: str, snapshot_id: str) -> tuple[frozenset[str], bool]:
        """DescribeSnapshotAttribute(createVolumePermission) → (accounts, public)."""
        ...

    def block_public_access_state(self, region: str) -> str:
        """GetImageBlockPublicAccessState: 'block-new-sharing' or 'unblocked'."""
        ...

    def send(self, request: Request, dry_run: bool = False) -> None:
        """Send one mutating request. With dry_run, EC2's DryRunOperation answer returns
        normally; every other AWS error raises AwsError with its code."""
        ...
