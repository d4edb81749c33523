"""ram_role_arn: a RAM user's AccessKey calls STS AssumeRole with a narrowing session policy."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import utils_models as openapi_models
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException

from ..post_form import Credentials
from .base import SourceError

CONNECT_TIMEOUT_MS = 1000
READ_TIMEOUT_MS = 3000

# What to do about the STS error codes people actually hit.
HINTS = {
    "NoPermission": "RAM 用户缺少 AliyunSTSAssumeRoleAccess 权限，或角色的信任策略不允许该账号扮演（docs/ram-role.md）",
    "EntityNotExist.Role": "ALIBABA_CLOUD_ROLE_ARN 指向的角色不存在：到 RAM 控制台 角色 页面复制 ARN",
    "InvalidParameter.RoleArn": "ALIBABA_CLOUD_ROLE_ARN 格式不对，应形如 acs:ram::<账号ID>:role/<角色名>",
    "InvalidAccessKeyId.NotFound": "AccessKey ID 不存在或已删除：检查 ALIBABA_CLOUD_ACCESS_KEY_ID",
    "SignatureDoesNotMatch": "AccessKey Secret 不对：检查 ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "InvalidParameter.DurationSeconds": "STS_DURATION_SECONDS 超过角色的最大会话时间：调小它或在 RAM 中调大角色的最大会话时间",
    "InvalidParameter.PolicyGrammar": "会话策略语法错误：检查 OSS_BUCKET 和 OSS_UPLOAD_DIR",
    "Throttling": "调用 STS 太频繁，稍后会自动重试",
}


# What the kit does with its temporary credentials, all on objects under the upload dir:
# PutObject: PostObject forms and multipart initiate/upload/complete; GetObject: HEAD before recording
# and the presigned download/thumbnail URLs of 我的文件; DeleteObject: 删除, and removing an object that
# carries fields the form never sent; ListParts and AbortMultipartUpload: resuming and cancelling.
UPLOAD_ACTIONS = ["oss:PutObject", "oss:GetObject", "oss:DeleteObject", "oss:ListParts", "oss:AbortMultipartUpload"]


# Only for `python -m server.reconcile` (its own credentials; the signer never gets these): list the
# upload dir and the open multipart uploads. Bucket-level actions, so the resource is the bucket.
LISTING_ACTIONS = ["oss:ListObjects", "oss:ListMultipartUploads"]


def session_policy(bucket: str, upload_dir: str, listing: bool = False) -> str:
    """Whatever the role may do, these credentials can only act on objects under the upload dir
    (and, with `listing`, list that dir and the bucket's open multipart uploads)."""
    statements = [{"Effect": "Allow", "Action": UPLOAD_ACTIONS, "Resource": [f"acs:oss:*:*:{bucket}/{upload_dir}*"]}]
    if listing:
        statements += listing_statements(bucket, upload_dir)
    return json.dumps({"Version": "1", "Statement": statements}, separators=(",", ":"))


def listing_statements(bucket: str, upload_dir: str) -> list:
    return [
        {"Effect": "Allow", "Action": ["oss:ListObjects"], "Resource": [f"acs:oss:*:*:{bucket}"],
         "Condition": {"StringLike": {"oss:Prefix": [f"{upload_dir}*"]}}},
        {"Effect": "Allow", "Action": ["oss:ListMultipartUploads"], "Resource": [f"acs:oss:*:*:{bucket}"]},
    ]


def parse_expiration(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


class AssumeRoleSource:
    mode = "ram_role_arn"

    def __init__(self, settings, listing: bool = False):
        endpoint = settings.sts_endpoint
        protocol = "https"
        if "://" in endpoint:
            protocol, endpoint = endpoint.split("://", 1)
        self._client = StsClient(
            openapi_models.Config(
                access_key_id=settings.access_key_id,
                access_key_secret=settings.access_key_secret,
                endpoint=endpoint,
                protocol=protocol,
                region_id=settings.region,
                connect_timeout=CONNECT_TIMEOUT_MS,
                read_timeout=READ_TIMEOUT_MS,
            )
        )
        self._request = dict(
            duration_seconds=settings.sts_duration_seconds,
            policy=session_policy(settings.bucket, settings.upload_dir, listing),
            role_arn=settings.role_arn,
            role_session_name=settings.role_session_name,
        )

    def fetch(self) -> Credentials:
        try:
            response = self._client.assume_role(sts_models.AssumeRoleRequest(**self._request))
        except AlibabaCloudException as error:
            code = error.code or "STSError"
            raise SourceError(
                code,
                f"STS AssumeRole failed (HTTP {error.status_code}, RequestId {getattr(error, 'request_id', None)})",
                HINTS.get(code, "查看 STS 返回的错误码说明"),
            ) from None
        except Exception as error:  # network: UnretryableException, timeouts, DNS
            raise SourceError(
                "STSUnreachable",
                f"{type(error).__name__}: {str(error)[:200]}",
                "检查服务器到 STS_ENDPOINT 的网络（安全组出方向、DNS、VPC 终端节点）",
            ) from None
        try:
            body = response.body.credentials
            return Credentials(
                access_key_id=body.access_key_id,
                access_key_secret=body.access_key_secret,
                security_token=body.security_token,
                expiration=parse_expiration(body.expiration),
            )
        except (AttributeError, TypeError, ValueError) as error:
            raise SourceError(
                "STSBadResponse",
                f"unexpected AssumeRole response: {type(error).__name__}",
                "STS 的应答缺少凭证字段：检查 STS_ENDPOINT 是否指向真正的 STS 服务（或中间的代理改写了应答）",
            ) from None
