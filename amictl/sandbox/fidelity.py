"""The fidelity extension: what moto 5.2's EC2 lacks for amictl, faithful to the facts sheet.

`SandboxEC2Response` subclasses moto's `EC2Response` (no monkeypatching: the sandbox's
Flask app for EC2 dispatches to the subclass, in-process moto users are unaffected). It
overrides the image and snapshot attribute calls and adds image block public access:

* ModifyImageAttribute: Description, ImdsSupport, LaunchPermission and the legacy flat
  forms, one attribute per call, with EC2's sharing restrictions (`rules.py`).
* ResetImageAttribute(launchPermission), DescribeImageAttribute for every attribute.
* DescribeImages through `ImageView` (ImdsSupport, Encrypted, product codes, filters,
  MaxResults/NextToken paging).
* ModifySnapshotAttribute with the structured `CreateVolumePermission` form, and
  DescribeSnapshotAttribute.
* Get/Enable/DisableImageBlockPublicAccess, per account and region.

Order inside a call: parameters are validated, the resource looked up (and ownership
checked), then DryRun answers `DryRunOperation` (412) without changing anything; only a
real call goes on to the sharing restrictions and the change. (EC2 documents DryRun as a
permission check; whether it also evaluates sharing restrictions is unconfirmed.)

Eventual consistency (facts §9): just before a change, the current state is remembered,
and for `consistency_lag` seconds reads of that image, snapshot or region's block public
access state show the remembered one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from moto.core.responses import ActionResult, EmptyResult
from moto.ec2.exceptions import AuthFailureRestricted, FilterNotImplementedError
from moto.ec2.responses import EC2Response
from moto.ec2.utils import generic_filter

from . import kms, rules
from .ec2_errors import Ec2Error, not_authorized_for
from .state import BPA_BLOCKED, BPA_UNBLOCKED, ExtensionState, ImageAttrs, SnapshotPerms
from .views import ImageView


class SandboxEC2Response(EC2Response):
    """moto's EC2 responses plus the fidelity extension. Use `bound_to(state)`."""

    extension: ClassVar[ExtensionState]

    @classmethod
    def bound_to(cls, extension: ExtensionState) -> type[SandboxEC2Response]:
        """A subclass whose requests read and write `extension`."""
        return type(cls.__name__, (cls,), {"extension": extension})

    # ------------------------------------------------------------ helpers

    @property
    def _account(self) -> str:
        return str(self.current_account)

    def _key(self, resource_id: str) -> tuple[str, str, str]:
        return (self._account, self.region, resource_id)

    def _owned_image(self, image_id: str | None) -> Any:
        """The image, or the error EC2 gives: malformed, not found, not the caller's."""
        image_id = rules.check_image_id(image_id)
        ami = self.ec2_backend.amis.get(image_id)
        if ami is None:
            # Facts §3: also a deregistered image, after a while.
            raise Ec2Error("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist")
        if ami.owner_id != self._account:
            raise not_authorized_for("image", image_id)
        return ami

    def _owned_snapshot(self, snapshot_id: str | None) -> Any:
        if not snapshot_id:
            raise Ec2Error("MissingParameter", "The request must contain the parameter SnapshotId")
        snapshot = self.ec2_backend.snapshots.get(snapshot_id)
        if snapshot is None:
            raise Ec2Error(
                "InvalidSnapshot.NotFound", f"The snapshot '{snapshot_id}' does not exist."
            )
        if snapshot.owner_id != self._account:
            raise not_authorized_for("snapshot", snapshot_id)
        return snapshot

    def _view(self, ami: Any) -> ImageView:
        stale = self.extension.stale_images.get(self._key(ami.id))
        return ImageView(ami, stale if stale is not None else ImageAttrs.of(ami))

    def _on_aws_managed_key(self, snapshot: Any) -> bool:
        return bool(snapshot.encrypted) and kms.is_aws_managed(
            self._account, self.region, snapshot.kms_key_id
        )

    def _lag(self) -> float:
        return self.extension.lag_for(self._get_action())

    def _remember_image(self, ami: Any) -> None:
        self.extension.stale_images.remember(
            self._key(ami.id), lambda: ImageAttrs.of(ami), self._lag()
        )

    # ------------------------------------------------------------ images

    def describe_images(self) -> ActionResult:
        """DescribeImages through `ImageView`, with EC2's filters and paging."""
        self.error_on_dryrun()
        image_ids = self._get_param("ImageIds", [])
        owners = self._get_param("Owners", [])
        images = self.ec2_backend.describe_images(
            ami_ids=image_ids,
            exec_users=self._get_param("ExecutableUsers", []),
            owners=owners,
        )
        if image_ids and owners:  # moto ignores Owners when IDs are given; EC2 does not
            wanted = {self._account if o == "self" else o for o in owners}
            images = [a for a in images if a.owner_id in wanted or a.owner_alias in wanted]
        views = [self._view(a) for a in images]
        for name, values in self._filters_from_querystring().items():
            try:
                views = generic_filter({name: values}, views)
            except FilterNotImplementedError:
                raise Ec2Error("InvalidParameterValue", f"The filter '{name}' is invalid") from None
        return ActionResult(self._page(views, "Images"))

    def _page(self, items: list[Any], key: str) -> dict[str, Any]:
        max_results = self._get_param("MaxResults")
        if max_results is None:
            return {key: items}
        token = self._get_param("NextToken")
        try:
            start = int(token) if token else 0
        except ValueError:
            raise Ec2Error("InvalidPaginationToken", f"Invalid token: {token}") from None
        end = start + int(max_results)
        result: dict[str, Any] = {key: items[start:end]}
        if end < len(items):
            result["NextToken"] = str(end)
        return result

    def describe_image_attribute(self) -> ActionResult:
        """Facts §2.1: `ImageId` plus exactly the attribute asked for; an unset
        description/imdsSupport is an empty element (the SDK shows `{}`; unconfirmed)."""
        attribute = rules.parse_describe_attribute(self._get_param)
        if attribute == "blockDeviceMapping":
            raise AuthFailureRestricted()  # facts §2.1: deprecated, answers AuthFailure
        ami = self._owned_image(self._get_param("ImageId"))
        self.error_on_dryrun()
        view = self._view(ami)

        def value(v: Any) -> dict[str, Any]:
            return {"Value": v} if v not in (None, "") else {}

        result: dict[str, Any] = {"ImageId": ami.id}
        if attribute == "launchPermission":
            result["LaunchPermissions"] = view.launch_permissions
        elif attribute == "productCodes":
            result["ProductCodes"] = view.product_codes
        elif attribute == "lastLaunchedTime":
            result["LastLaunchedTime"] = {}
        else:
            name, current = {
                "description": ("Description", view.description),
                "imdsSupport": ("ImdsSupport", view.imds_support),
                "kernel": ("KernelId", ami.kernel_id),
                "ramdisk": ("RamdiskId", None),
                "sriovNetSupport": ("SriovNetSupport", ami.sriov),
                "bootMode": ("BootMode", ami.boot_mode),
                "tpmSupport": ("TpmSupport", None),
                "uefiData": ("UefiData", None),
                "deregistrationProtection": ("DeregistrationProtection", "disabled"),
            }[attribute]
            result[name] = value(current)
        return ActionResult(result)

    def modify_image_attribute(self) -> ActionResult:
        """Facts §1, §3, §5, §6, §7; the rules themselves are in `rules.py`."""
        edit = rules.parse_image_edit(self._get_param)
        ami = self._owned_image(self._get_param("ImageId"))
        self.error_on_dryrun()
        snapshot = ami.ebs_snapshot
        rules.check_image_edit(
            edit,
            rules.ImageFacts(
                image_id=ami.id,
                is_public=ami.is_public,
                has_product_codes=bool(ami.product_codes),
                encrypted=bool(snapshot.encrypted),
                on_aws_managed_key=self._on_aws_managed_key(snapshot),
                block_public_access=self.extension.bpa_state(self._account, self.region),
            ),
        )
        self._remember_image(ami)
        if isinstance(edit, rules.LaunchPermissionEdit):
            # Add, then Remove, as moto does (EC2's order inside one call is unconfirmed).
            self.ec2_backend.modify_image_attribute(
                ami.id, [dict(p) for p in edit.add], [dict(p) for p in edit.remove]
            )
        elif isinstance(edit, rules.DescriptionEdit):
            ami.description = edit.value
        else:
            ami.imds_support = edit.value  # irreversible: nothing ever unsets it
        return EmptyResult()

    def reset_image_attribute(self) -> ActionResult:  # type: ignore[override]  # moto: str
        """Facts §2.3: clears every launch permission (accounts, orgs, OUs, public)."""
        rules.parse_reset_attribute(self._get_param)
        ami = self._owned_image(self._get_param("ImageId"))
        self.error_on_dryrun()
        self._remember_image(ami)
        ami.launch_permissions.clear()
        return EmptyResult()

    # ------------------------------------------------------------ snapshots

    def describe_snapshot_attribute(self) -> ActionResult:
        attribute = rules.parse_describe_snapshot_attribute(self._get_param)
        snapshot = self._owned_snapshot(self._get_param("SnapshotId"))
        self.error_on_dryrun()
        if attribute == "productCodes":
            return ActionResult({"SnapshotId": snapshot.id, "ProductCodes": []})
        perms = self.extension.stale_snapshots.get(self._key(snapshot.id))
        if perms is None:
            perms = SnapshotPerms.of(snapshot)
        return ActionResult({"SnapshotId": snapshot.id, "CreateVolumePermissions": perms.to_wire()})

    def modify_snapshot_attribute(self) -> ActionResult:
        """Facts §5: createVolumePermission Add or Remove (UserId / Group=all)."""
        edit = rules.parse_snapshot_edit(self._get_param)
        snapshot = self._owned_snapshot(self._get_param("SnapshotId"))
        self.error_on_dryrun()
        rules.check_snapshot_edit(
            edit,
            rules.SnapshotFacts(
                snapshot.id, bool(snapshot.encrypted), self._on_aws_managed_key(snapshot)
            ),
        )
        self.extension.stale_snapshots.remember(
            self._key(snapshot.id), lambda: SnapshotPerms.of(snapshot), self._lag()
        )
        for items, verb in ((edit.add, "add"), (edit.remove, "remove")):
            users = [p["UserId"] for p in items if "UserId" in p]
            groups = [p["Group"] for p in items if "Group" in p]
            if users or groups:
                change = getattr(self.ec2_backend, f"{verb}_create_volume_permission")
                change(snapshot.id, user_ids=users, groups=groups)
        return EmptyResult()

    # ------------------------------------------------------------ block public access

    def get_image_block_public_access_state(self) -> ActionResult:
        """Facts §6; while a change propagates (the consistency lag) Get shows the old state."""
        self.error_on_dryrun()
        stale = self.extension.stale_bpa.get(self._key("bpa"))
        state = stale or self.extension.bpa_state(self._account, self.region)
        return ActionResult({"ImageBlockPublicAccessState": state, "ManagedBy": "account"})

    def enable_image_block_public_access(self) -> ActionResult:
        state = rules.parse_enable_block_public_access(self._get_param)
        self.error_on_dryrun()
        self._set_bpa(state)
        return ActionResult({"ImageBlockPublicAccessState": BPA_BLOCKED})

    def disable_image_block_public_access(self) -> ActionResult:
        self.error_on_dryrun()
        self._set_bpa(BPA_UNBLOCKED)
        return ActionResult({"ImageBlockPublicAccessState": BPA_UNBLOCKED})

    def _set_bpa(self, state: str) -> None:
        current = self.extension.bpa_state(self._account, self.region)
        self.extension.stale_bpa.remember(self._key("bpa"), lambda: current, self._lag())
        self.extension.block_public_access[(self._account, self.region)] = state
