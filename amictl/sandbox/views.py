"""How reads show an image: moto's `Ami` plus the fields moto 5.2 leaves out.

`ImageView` wraps an `Ami` for moto's response serializer, which picks attributes by their
snake_case names. It overrides what the extension owns (facts §2.2):

* `imds_support`: `"v2.0"` or absent;
* `description`: absent when empty;
* `is_public` / `launch_permissions`: possibly a stale copy (eventual consistency, §9);
* `product_codes`: `{ProductCodeId, ProductCodeType}` items (moto keeps bare strings);
* `block_device_mappings`: `Ebs.Encrypted` from the snapshot (the key itself is only in
  DescribeSnapshots, as on EC2);
* `root_device_type`: `ebs`, since every moto image is backed by an EBS snapshot;
* `tags`: absent when there are none.

It also answers the DescribeImages filters moto lacks.
"""

from __future__ import annotations

from typing import Any

from .state import ImageAttrs


class ImageView:
    def __init__(self, ami: Any, attrs: ImageAttrs) -> None:
        self._ami = ami
        self.launch_permissions = [dict(p) for p in attrs.launch_permissions]
        self.description = attrs.description
        self.imds_support = attrs.imds_support

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ami, name)

    @property
    def ami(self) -> Any:
        return self._ami

    @property
    def is_public(self) -> bool:
        return {"Group": "all"} in self.launch_permissions

    @property
    def product_codes(self) -> list[dict[str, str]]:
        return [
            {"ProductCodeId": code, "ProductCodeType": "marketplace"}
            for code in sorted(self._ami.product_codes)
        ]

    @property
    def tag_list(self) -> list[dict[str, str]] | None:
        """Absent when there are none, as on EC2 (moto sends an empty list)."""
        tags: list[dict[str, str]] = self._ami.get_tags()
        return tags or None

    tag_set = tag_list

    @property
    def root_device_type(self) -> str:
        return "ebs"

    @property
    def block_device_mappings(self) -> list[dict[str, Any]]:
        mappings: list[dict[str, Any]] = self._ami.block_device_mappings
        snapshot = self._ami.ebs_snapshot
        return [{**m, "Ebs": {**m["Ebs"], "Encrypted": bool(snapshot.encrypted)}} for m in mappings]

    def get_filter_value(self, filter_name: str, method_name: str | None = None) -> Any:
        snapshot = self._ami.ebs_snapshot
        extra: dict[str, Any] = {
            "is-public": self.is_public,
            "description": self.description or "",
            "root-device-type": self.root_device_type,
            "block-device-mapping.snapshot-id": snapshot.id,
            "block-device-mapping.encrypted": bool(snapshot.encrypted),
            "block-device-mapping.device-name": self._ami.root_device_name,
            "product-code": list(self._ami.product_codes),
        }
        if filter_name in extra:
            return extra[filter_name]
        return self._ami.get_filter_value(filter_name, method_name)
