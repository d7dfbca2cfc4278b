"""EC2 error answers, in EC2's own codes and XML envelope (facts §3).

Two kinds:

* `Ec2Error` is raised inside the fidelity extension; moto serialises it into EC2's
  `<Response><Errors><Error>` envelope (HTTP 400; moto's model gives `AuthFailure` 401 and
  `DryRunOperation` 412).
* `error_body` builds the same envelope for answers the middleware gives without asking
  moto at all (throttling, 5xx, IAM deny), where the HTTP status differs from 400.
"""

from __future__ import annotations

import uuid
from xml.sax.saxutils import escape

from moto.ec2.exceptions import EC2ClientError

# Messages seen from real EC2 (facts §3), reused verbatim by the rules.
MSG_MARKETPLACE_PUBLIC = "Images with marketplace product codes may not be made public."
MSG_ENCRYPTED_PUBLIC = "Encrypted snapshots can't be shared publicly. Specify another snapshot."
MSG_DEFAULT_KEY_SHARE = (
    "Snapshots encrypted with the AWS Managed CMK can't be shared. Specify another snapshot."
)
MSG_BPA_PUBLIC = (
    "You can't publicly share this image because block public access for AMIs is enabled "
    "for this account. To publicly share the image, you must call the "
    "DisableImageBlockPublicAccess API."
)
MSG_NO_ATTRIBUTES = "No attributes specified"


class Ec2Error(EC2ClientError):
    """An EC2 client error with a real EC2 error code (facts §3 table)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def invalid_value(parameter: str, value: object, why: str = "") -> Ec2Error:
    """`InvalidParameterValue` phrased the way EC2 phrases it."""
    message = f"Value ({value}) for parameter {parameter} is invalid."
    return Ec2Error("InvalidParameterValue", f"{message} {why}".strip())


def missing(parameter: str) -> Ec2Error:
    return Ec2Error("MissingParameter", f"The request must contain the parameter {parameter}")


def combination(message: str) -> Ec2Error:
    return Ec2Error("InvalidParameterCombination", message)


def item_value(item_type: str, value: object) -> Ec2Error:
    """`InvalidAMIAttributeItemValue`: a value added to/removed from an image attribute."""
    return Ec2Error(
        "InvalidAMIAttributeItemValue",
        f'Invalid attribute item value "{value}" for {item_type} item type.',
    )


def not_authorized_for(kind: str, resource_id: str) -> Ec2Error:
    """`AuthFailure` for a resource the caller does not own (facts §2.1, observed)."""
    return Ec2Error("AuthFailure", f"Not authorized for {kind}:{resource_id}")


def error_body(code: str, message: str) -> bytes:
    """EC2's error envelope, as botocore's EC2 parser expects it (facts §3, last bullet)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error></Errors>"
        f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()


def query_error_body(code: str, message: str) -> bytes:
    """The query protocol's envelope (STS, IAM, ...), for denies of non-EC2 calls."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
