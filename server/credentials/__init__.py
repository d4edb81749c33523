"""Where the server's temporary credentials come from; all cloud I/O lives in this package."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from .base import CredentialsUnavailable, CredentialSource, SourceError
from .cache import CredentialCache

# A policy with less time than this left is useless to a phone on a slow network.
MIN_REMAINING = timedelta(seconds=60)

__all__ = ["CredentialCache", "CredentialsUnavailable", "CredentialSource", "SourceError", "build_cache", "MIN_REMAINING"]


def build_source(settings, clock: Callable[[], datetime], listing: bool = False) -> CredentialSource:
    """`listing`: credentials that may also list the upload dir (reconcile only; in ram_role_arn mode
    the session policy says so, in the other modes the role's own policy decides)."""
    # SDK imports are heavy (hundreds of ms); load only the one this mode needs.
    if settings.credentials_type == "ram_role_arn":
        from .sts import AssumeRoleSource

        return AssumeRoleSource(settings, listing)
    if settings.credentials_type == "ecs_ram_role":
        from .ecs import EcsRoleSource

        return EcsRoleSource(settings)
    from .local import LocalStsSource

    return LocalStsSource(settings, clock)


def build_cache(settings, clock: Callable[[], datetime], source: CredentialSource = None) -> CredentialCache:
    # Refresh early enough that a fresh policy still gets its full lifetime, but not so early
    # that short sessions are due the moment they arrive.
    refresh_before = timedelta(seconds=min(settings.expire_seconds + 300, settings.sts_duration_seconds // 2))
    return CredentialCache(
        source or build_source(settings, clock),
        clock,
        refresh_before=refresh_before,
        min_remaining=MIN_REMAINING,
    )
