"""Random policies and forms: the emulator's verdict equals a small reference model of OSS's rules."""
from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings, strategies as st

from tests.local_oss_support import KEY_ID, SECRET
from tests.ossform import error_code, error_message, signed_fields

FIELDS = ["key", "x-oss-meta-a", "x-oss-meta-b", "Content-Type", "success_action_status"]
VALUES = st.text(alphabet="ab$\\", max_size=3)
FIELD_REF = st.sampled_from(FIELDS).flatmap(lambda f: st.sampled_from([f, f.upper(), f.lower()]))

condition = st.one_of(
    st.tuples(st.just("exact"), FIELD_REF, VALUES),
    st.tuples(st.sampled_from(["eq", "starts-with"]), FIELD_REF, VALUES),
    st.tuples(st.sampled_from(["in", "not-in"]), FIELD_REF, st.lists(VALUES, max_size=3)),
    st.tuples(st.just("content-length-range"), st.integers(0, 6), st.integers(0, 6)),
    st.tuples(st.just("broken"), st.sampled_from(["unknown-op", "short", "in-string", "two-props"]), st.just(None)),
)
form_values = st.fixed_dictionaries(
    {"key": st.text(alphabet="ab$", max_size=3).map(lambda s: "k" + s)},
    optional={
        "x-oss-meta-a": VALUES, "x-oss-meta-b": VALUES, "Content-Type": VALUES,
        "success_action_status": st.sampled_from(["200", "201", "204", "a"]),
    },
)


def value_json(value: str, escape: bool) -> str:
    text = json.dumps(value)
    return text.replace("$", "\\$") if escape else text  # OSS's `\$`; a bare `$` is literal too


def condition_json(cond, escape: bool) -> str:
    op, a, b = cond
    if op == "exact":
        return "{%s:%s}" % (json.dumps(a), value_json(b, escape))
    if op in ("eq", "starts-with"):
        return "[%s,%s,%s]" % (json.dumps(op), json.dumps("$" + a), value_json(b, escape))
    if op in ("in", "not-in"):
        return "[%s,%s,[%s]]" % (json.dumps(op), json.dumps("$" + a), ",".join(value_json(v, escape) for v in b))
    if op == "content-length-range":
        return json.dumps([op, a, b])
    return {"unknown-op": '["matches","$key","k"]', "short": '["eq","$key"]',
            "in-string": '["in","$key","k"]', "two-props": '{"key":"k","bucket":"b"}'}[a]


def model(conditions, form, size, expired):
    """(status, code, message or None) as OSS would answer, in the emulator's documented order."""
    if any(c[0] == "broken" or (c[0] == "content-length-range" and c[2] < c[1]) for c in conditions):
        return 400, "InvalidPolicyDocument", None
    if expired:
        return 403, "AccessDenied", "Invalid according to Policy: Policy expired."
    lowered = {k.lower(): v for k, v in form.items()}
    for op, field, expected in conditions:
        if op == "content-length-range":
            continue
        actual = lowered.get(field.lower())
        holds = actual is not None and {
            "exact": lambda: actual == expected, "eq": lambda: actual == expected,
            "starts-with": lambda: actual.startswith(expected), "in": lambda: actual in expected,
            "not-in": lambda: actual not in expected,
        }[op]()
        if not holds:
            shown = json.dumps(["eq" if op == "exact" else op, "$" + field, expected], ensure_ascii=False)
            return 403, "AccessDenied", "Invalid according to Policy: Policy Condition failed: " + shown
    ranges = [(low, high) for op, low, high in conditions if op == "content-length-range"]
    if any(size > high for _low, high in ranges):  # over a maximum is refused while the file streams
        return 400, "EntityTooLarge", None
    if any(size < low for low, _high in ranges):
        return 400, "EntityTooSmall", None
    return {"200": 200, "201": 201, "204": 204}.get(form.get("success_action_status"), 204), None, None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conditions=st.lists(condition, min_size=1, max_size=4), form=form_values, size=st.integers(0, 6),
       expired=st.booleans(), escape=st.booleans())
def test_verdict_matches_the_reference_model(emu, conditions, form, size, expired, escape):
    now = emu.clock()
    expiration = "2026-11-29T01:59:59.000Z" if expired else "2026-11-29T02:10:00.000Z"
    policy = '{"expiration":"%s","conditions":[%s]}' % (expiration, ",".join(condition_json(c, escape) for c in conditions))
    extra = [(name, value) for name, value in form.items() if name != "key"]
    fields = signed_fields(form["key"], KEY_ID, SECRET, "cn-hangzhou", now, policy=policy, extra=extra)
    response = emu.post(fields, b"x" * size)

    status, code, message = model(conditions, form, size, expired)
    assert response.status_code == status, (policy, response.text)
    assert error_code(response) == code
    if message is not None:
        assert error_message(response) == message
    if code is None:
        assert emu.http.get(emu.url + "/" + form["key"].replace("$", "%24")).content == b"x" * size
    assert os.listdir(os.path.join(emu.directory, ".tmp")) == []
