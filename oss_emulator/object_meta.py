"""The object attributes OSS keeps beside the bytes and the emulator stores among an object's
headers: storage class and ACL, with the values OSS accepts (PostObject / InitiateMultipartUpload
docs; research: oss-facts.md A2)."""
from __future__ import annotations

from typing import Optional

from .storage import StoredObject

STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
# Objects of these classes must be restored before a GET (OSS: 403 InvalidObjectState).
FROZEN_CLASSES = ("Archive", "ColdArchive", "DeepColdArchive")
OBJECT_ACLS = ("default", "private", "public-read", "public-read-write")
PUBLIC_ACLS = ("public-read", "public-read-write")


def stored(obj: StoredObject, name: str) -> Optional[str]:
    """A stored header by case-insensitive name."""
    lower = name.lower()
    return next((v for n, v in obj.headers.items() if n.lower() == lower), None)


def storage_class(obj: StoredObject) -> str:
    return stored(obj, "x-oss-storage-class") or "Standard"


def is_public(obj: StoredObject) -> bool:
    return stored(obj, "x-oss-object-acl") in PUBLIC_ACLS


# The bucket owner OSS names in listings and ACLs (fetch-owner, GetObjectACL): the emulator's one account.
OWNER_ID = "1000000000000000"
OWNER_NAME = OWNER_ID


def object_type(obj: StoredObject) -> str:
    """`Multipart` for an object assembled from parts (its ETag ends in `-<count>`), else `Normal`."""
    return "Multipart" if "-" in obj.etag else "Normal"
