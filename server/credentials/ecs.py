"""ecs_ram_role: temporary credentials of the RAM role attached to this ECS instance (IMDSv2)."""
from __future__ import annotations

from datetime import datetime, timezone

from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_credentials.http import HttpOptions
from alibabacloud_credentials.provider.ecs_ram_role import EcsRamRoleCredentialsProvider

from ..post_form import Credentials
from .base import SourceError

TIMEOUT_MS = 1000


class EcsRoleSource:
    mode = "ecs_ram_role"

    def __init__(self, settings):
        self.role_name = settings.ecs_role_name
        # async_update_enabled=False: no scheduler thread polling the metadata service.
        # (ALIBABA_CLOUD_ECS_METADATA_DISABLED, which makes the SDK refuse here, is a config error.)
        self._provider = EcsRamRoleCredentialsProvider(
            role_name=self.role_name or None,
            disable_imds_v1=True,
            http_options=HttpOptions(connect_timeout=TIMEOUT_MS, read_timeout=TIMEOUT_MS),
            async_update_enabled=False,
        )

    def fetch(self) -> Credentials:
        # The provider's public get_credentials() sits behind a cache that keeps returning
        # expired credentials once the metadata service is down; we fetch directly and keep
        # the expiration ourselves (CredentialCache).
        try:
            result = self._provider._refresh_credentials()
        except Exception as error:
            text = str(error)
            if "HttpCode=404" in text:
                cause, hint = "RoleNotAttached", (
                    f"实例上没有名为 '{self.role_name}' 的 RAM 角色：在 ECS 控制台 授予/收回RAM角色，并核对 ALIBABA_CLOUD_ECS_METADATA"
                )
            elif isinstance(error, (CredentialException, ValueError, KeyError, TypeError)):
                # The service answered, but not with usable credentials (Code != Success, bad Expiration...).
                cause, hint = "MetadataBadResponse", (
                    "ECS 元数据服务的回答不是可用的凭证：确认角色已授予本实例，稍后会自动重试（docs/ram-role.md）"
                )
            else:
                cause, hint = "MetadataUnreachable", (
                    "连不上 ECS 元数据服务 100.100.100.200：本机不是 ECS 实例，或实例未授予 RAM 角色（docs/ram-role.md）"
                )
            raise SourceError(cause, f"{type(error).__name__}: {text[:200]}", hint) from None
        value = result.value()
        return Credentials(
            access_key_id=value.get_access_key_id(),
            access_key_secret=value.get_access_key_secret(),
            security_token=value.get_security_token(),
            expiration=datetime.fromtimestamp(value.get_expiration(), tz=timezone.utc),
        )
