"""Time and fresh ids: the one real clock, the aware-UTC rule, random object ids. Pure helpers."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def require_aware(moment: datetime, name: str) -> datetime:
    """`moment` in UTC; ValueError for a naive datetime, whose zone would be a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC); naive datetimes are ambiguous")
    return moment.astimezone(timezone.utc)


def new_object_id() -> str:
    """An unguessable name part for a server-chosen object key."""
    return uuid.uuid4().hex
