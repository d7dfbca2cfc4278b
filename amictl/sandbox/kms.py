"""KMS keys behind encrypted snapshots, as real KMS reports them (facts §2.2, §5).

moto's KMS marks every key `KeyManager: CUSTOMER`, including the `alias/aws/ebs` key EBS
creates by itself. Real KMS reports AWS managed keys (the `alias/aws/*` ones) with
`KeyManager: AWS`; amictl tells the two apart with DescribeKey, so the sandbox fixes the
flag on those keys.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models import ec2_backends
from moto.kms.models import kms_backends

EBS_DEFAULT_ALIAS = "alias/aws/ebs"
AWS_ALIAS_PREFIX = "alias/aws/"
CUSTOMER_ALIAS = "alias/amictl-sandbox"


def _kms(account: str, region: str) -> Any:
    return kms_backends[account][region]


def _is_aws_alias(alias: str) -> bool:
    return alias.startswith(AWS_ALIAS_PREFIX)


def mark_aws_managed_keys(account: str, region: str) -> None:
    """Give every key behind an `alias/aws/*` alias `KeyManager: AWS`."""
    for key in _kms(account, region).keys.values():
        if any(_is_aws_alias(a) for a in key.aliases):
            key.key_manager = "AWS"


def ensure_reserved_alias(account: str, region: str, key_id: str) -> None:
    """Materialise an `alias/aws/*` key before KMS answers about it (moto creates such keys
    lazily, inside the very DescribeKey that names them) so it can be marked first."""
    kms = _kms(account, region)
    alias = kms.get_alias_name(key_id)
    if _is_aws_alias(alias) and not kms.alias_exists(alias):
        kms.get_key_id_from_alias(alias)


def aws_managed_ebs_key(account: str, region: str) -> str:
    """ARN of the region's AWS managed EBS key (`alias/aws/ebs`), created on first use the
    way EBS does."""
    arn: str = ec2_backends[account][region]._create_default_encryption_key()
    mark_aws_managed_keys(account, region)
    return arn


def customer_key(account: str, region: str) -> str:
    """ARN of the sandbox's customer managed key in the region (created on first use)."""
    kms = _kms(account, region)
    if not kms.alias_exists(CUSTOMER_ALIAS):
        key = kms.create_key(
            None,
            "ENCRYPT_DECRYPT",
            "SYMMETRIC_DEFAULT",
            "amictl sandbox customer managed key",
            None,
        )
        kms.create_alias(key.id, CUSTOMER_ALIAS)
    arn: str = kms.describe_key(CUSTOMER_ALIAS).arn
    return arn


def is_aws_managed(account: str, region: str, key_id: str | None) -> bool:
    """Whether the key is AWS managed. Unknown keys count as customer managed."""
    if not key_id:
        return False
    kms = _kms(account, region)
    try:
        key = kms.describe_key(key_id)
    except Exception:  # moto raises KeyError/NotFoundException for unknown keys
        return False
    return key.key_manager == "AWS" or any(_is_aws_alias(a) for a in key.aliases)
