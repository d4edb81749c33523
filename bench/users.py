"""Signed-in users for the benches that sign: production signs for many users, so the benches do too.

With the quota on, every signature holds its size until the form is used or expires (15 minutes);
a form the bench never uploads holds it all that while. One user signing thousands of times would
hold thousands of forms, which the per-user rate limit (SIGN_RATE_LIMIT, 30 a minute) never lets
happen in production, and each quota check would sum them all. So the signing benches log in, and
their requests take USERS users' tokens in turn: a few dozen holds each, as in production.
"""
from __future__ import annotations

from typing import List

from server.clock import utc_now
from server.sessions import SessionTokens

USERS = 500
SECRET_KEY = "bench-secret-key-0123456789abcdef"
# Login on (local mode with a mini-program's AppID set); nothing ever calls WeChat: tokens are minted here.
AUTH_ENV = {"AUTH_REQUIRED": "true", "SECRET_KEY": SECRET_KEY, "WECHAT_APPID": "wx0123456789abcdef",
            "WECHAT_APP_SECRET": "bench-app-secret-0123456789abcdef"}


def tokens(count: int = USERS) -> List[str]:
    """Login tokens of `count` distinct users, valid for a day."""
    issuer = SessionTokens(SECRET_KEY, 86400, utc_now)
    return [issuer.issue(f"bench-openid-{n}")[0] for n in range(count)]
