"""BI targets: the port (:mod:`base`), its errors (:mod:`errors`), Omni (:mod:`omni`), any
SCIM 2.0 platform (:mod:`scim`) and the local Omni-compatible sandbox (:mod:`sync.sandbox`, not a target itself)."""

from sync.targets.base import (
    AttributeDefinition,
    BIGroup,
    BIUser,
    Capabilities,
    Connection,
    Model,
    RoleAssignment,
    Target,
    UserChanges,
    UserRef,
)
from sync.targets.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    TargetError,
    TargetUnavailable,
    Unsupported,
)

__all__ = [
    "AttributeDefinition",
    "BIGroup",
    "BIUser",
    "Capabilities",
    "Conflict",
    "Connection",
    "InvalidRequest",
    "Model",
    "NotFound",
    "OutcomeUnknown",
    "RateLimited",
    "RoleAssignment",
    "Target",
    "TargetError",
    "TargetUnavailable",
    "Unsupported",
    "UserChanges",
    "UserRef",
]
