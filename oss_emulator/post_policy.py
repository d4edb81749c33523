"""The PostObject policy: decode it, check its grammar, judge a form against it.

Grammar errors are InvalidPolicyDocument (400: status unverified, the strict reading). A failed
condition is AccessDenied naming the condition in `eq` form, as OSS reports it.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, List, Mapping, Optional, Tuple

from . import errors

OPERATORS = ("eq", "starts-with", "in", "not-in", "content-length-range")

# `\$` is OSS's escape for a literal `$`; json rejects it. Only an odd run of backslashes escapes.
_DOLLAR_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\\$")
_EXPIRATION = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$")


@dataclass(frozen=True)
class Condition:
    op: str  # eq | starts-with | in | not-in | content-length-range
    field: str = ""  # as written in the policy, without `$`
    value: object = None  # str, list of str, or (min, max) for content-length-range

    def describe(self) -> str:
        """OSS's rendering in its error message: exact conditions are reported in `eq` form."""
        if self.op == "content-length-range":
            return json.dumps([self.op, self.value[0], self.value[1]], ensure_ascii=False)
        return json.dumps([self.op, "$" + self.field, self.value], ensure_ascii=False)


@dataclass(frozen=True)
class Policy:
    expiration: datetime
    conditions: Tuple[Condition, ...]

    def size_ranges(self) -> List[Tuple[int, int]]:
        return [c.value for c in self.conditions if c.op == "content-length-range"]


def _parse_expiration(raw) -> datetime:
    match = _EXPIRATION.match(raw) if isinstance(raw, str) else None
    if not match:
        raise errors.invalid_policy("Invalid 'expiration' value: expected ISO 8601 UTC such as 2026-11-29T03:00:00.000Z.")
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int((fraction or "0").ljust(6, "0")[:6]), tzinfo=timezone.utc,
        )
    except ValueError:
        raise errors.invalid_policy("Invalid 'expiration' value: not a real date.") from None


def _field_ref(raw) -> str:
    if not isinstance(raw, str) or not raw.startswith("$") or len(raw) < 2:
        raise errors.invalid_policy("Invalid Condition: the second element must be a form field written as $name.")
    return raw[1:]


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _condition(raw) -> Condition:
    if isinstance(raw, dict):
        if len(raw) != 1:
            raise errors.invalid_policy("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
        ((name, value),) = raw.items()
        if not isinstance(value, str) or not name:
            raise errors.invalid_policy("Invalid Simple-Condition: the value must be a string.")
        return Condition("eq", name, value)
    if not isinstance(raw, list) or not raw:
        raise errors.invalid_policy("Invalid Condition: each condition must be an object or a non-empty array.")
    op = raw[0].lower() if isinstance(raw[0], str) else raw[0]
    if op not in OPERATORS:
        raise errors.invalid_policy(f"Invalid Condition: unknown operator {json.dumps(raw[0], ensure_ascii=False)}.")
    if len(raw) != 3:
        raise errors.invalid_policy(f"Invalid Condition: '{op}' takes exactly 3 elements.")
    if op == "content-length-range":
        low, high = raw[1], raw[2]
        # Strict: integers only (strings of digits are not accepted); inclusivity unverified, taken inclusive.
        if not (_is_int(low) and _is_int(high)) or low < 0 or high < low:
            raise errors.invalid_policy("Invalid content-length-range: expected two integers 0 <= min <= max.")
        return Condition(op, "", (low, high))
    field = _field_ref(raw[1])
    if op in ("in", "not-in"):
        if not isinstance(raw[2], list) or not all(isinstance(item, str) for item in raw[2]):
            raise errors.invalid_policy(f"Invalid Condition: the third element of '{op}' must be an array of strings.")
        return Condition(op, field, list(raw[2]))
    if not isinstance(raw[2], str):
        raise errors.invalid_policy(f"Invalid Condition: the third element of '{op}' must be a string.")
    return Condition(op, field, raw[2])


def decode_policy(policy_b64: str) -> Policy:
    try:
        raw = base64.b64decode(policy_b64.encode("ascii"), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise errors.invalid_policy("Policy is not base64 encoded UTF-8 text.") from None
    try:
        document = json.loads(_DOLLAR_ESCAPE.sub(r"\1$", text))
    except ValueError:
        raise errors.invalid_policy("Policy is not valid JSON.") from None
    if not isinstance(document, dict):
        raise errors.invalid_policy("Policy must be a JSON object.")
    if "expiration" not in document:
        raise errors.invalid_policy("Policy missing expiration.")
    if "conditions" not in document:
        raise errors.invalid_policy("Policy missing conditions.")
    conditions = document["conditions"]
    if not isinstance(conditions, list) or not conditions:
        raise errors.invalid_policy("'conditions' must be a non-empty array.")
    return Policy(_parse_expiration(document["expiration"]), tuple(_condition(c) for c in conditions))


def _holds(condition: Condition, value: Optional[str]) -> bool:
    # Strict reading of "a field the policy names but the form lacks fails its condition":
    # it applies to every operator, `not-in` included.
    if value is None:
        return False
    if condition.op == "eq":
        return value == condition.value
    if condition.op == "starts-with":
        return value.startswith(condition.value)
    if condition.op == "in":
        return value in condition.value
    return value not in condition.value  # not-in


def judge(policy: Policy, lookup: Callable[[str], Optional[str]], now: datetime) -> None:
    """Raise the first refusal for everything the policy says except the file's size.

    `lookup(name)` gives a form field's value by its name (matched case-insensitively) or None.
    """
    if now > policy.expiration:
        raise errors.policy_expired()
    for condition in policy.conditions:
        if condition.op != "content-length-range" and not _holds(condition, lookup(condition.field)):
            raise errors.condition_failed(condition.describe())


def judge_size(policy: Policy, size: int) -> None:
    # Over any range's maximum is judged first: form_parser refuses such a file while it still streams,
    # before a minimum could be looked at, so the two paths give the same verdict.
    ranges = policy.size_ranges()
    if any(size > high for _low, high in ranges):
        raise errors.entity_too_large()
    if any(size < low for low, _high in ranges):
        raise errors.entity_too_small()


def form_lookup(fields: Mapping[str, str], bucket: str) -> Callable[[str], Optional[str]]:
    """`fields` keyed by lower-case name. `bucket` is the bucket posted to, never a form field."""
    def lookup(name: str) -> Optional[str]:
        lowered = name.lower()
        if lowered == "bucket":
            return bucket
        return fields.get(lowered)

    return lookup
