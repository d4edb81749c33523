"""Settings: read once from a mapping (the environment, or a test's dict), validated up front.

A bad value raises ConfigError naming the setting and the fix, so start-up fails with one
clear line instead of a traceback deep inside a request.
"""
from __future__ import annotations

import importlib.util
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional

MIB = 1024 * 1024
GIB = 1024 * MIB
OSS_MAX_OBJECT_SIZE = 5 * GIB

DEFAULT_ALLOWED_EXTENSIONS = (
    "jpg jpeg png gif webp heic bmp "
    "mp4 mov m4v webm "
    "mp3 m4a aac wav ogg "
    "pdf doc docx xls xlsx ppt pptx txt zip"
)
CREDENTIALS_TYPES = ("ram_role_arn", "ecs_ram_role", "local")
LOCAL_DEFAULT_BUCKET = "local-bucket"
LOCAL_DEFAULT_ACCESS_KEY_ID = "LTAI-local-dev-key"
LOCAL_DEFAULT_ACCESS_KEY_SECRET = "local-dev-secret-change-me"

_REGION_RE = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_EXT_RE = re.compile(r"^[a-z0-9]{1,16}$")
_HOST_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_ROLE_ARN_RE = re.compile(r"^acs:ram::\d+:role/[\w.@-]+$", re.IGNORECASE)


class ConfigError(Exception):
    """A setting is missing or invalid; str() is the one line shown at start-up."""

    def __init__(self, setting: str, problem: str, fix: str):
        self.setting = setting
        super().__init__(f"配置错误 {setting}：{problem}。{fix}")


@dataclass(frozen=True)
class Settings:
    """Every setting, already checked. The defaults live in load_settings(), next to their env names."""

    bucket: str
    region: str
    upload_host: str
    upload_dir: str
    max_size: int
    allowed_extensions: frozenset
    allow_nameless_uploads: bool
    expire_seconds: int
    credentials_type: str
    access_key_id: str = field(repr=False)
    access_key_secret: str = field(repr=False)
    role_arn: str
    role_session_name: str
    sts_endpoint: str
    sts_duration_seconds: int
    ecs_role_name: str
    local_access_key_id: str
    local_access_key_secret: str = field(repr=False)
    local_oss_dir: str
    local_oss_port: int
    host: str
    port: int
    auth_required: bool
    auth_explicitly_off: bool
    wechat_appid: str
    wechat_app_secret: str = field(repr=False)
    wechat_api_base: str
    secret_key: str = field(repr=False)
    session_ttl_seconds: int
    sign_rate_limit: str
    login_rate_limit: str
    ratelimit_storage_uri: str
    trust_proxy_hops: int
    public_base_url: str  # "" in cloud mode when unset: no callbacks
    callback_enabled: bool
    callback_public_key: bytes  # PEM; b"" means OSS's pinned key (server/oss_callback.py)
    download_expire_seconds: int
    multipart_part_size: int
    user_quota_bytes: int  # 0: no limit
    user_quota_files: int  # 0: no limit
    metrics_token: str = field(repr=False)  # "" : /metrics answers loopback clients only
    # "" means the default: a SQLite file in the Flask instance folder (server/db.py).
    database_url: str = field(repr=False)

    @property
    def is_local(self) -> bool:
        return self.credentials_type == "local"


def display_host(host: str) -> str:
    """The address to show or dial for a listening host: a wildcard bind is reached on 127.0.0.1."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _get(env: Mapping[str, str], *names: str) -> str:
    """First non-empty value among names (later names are accepted aliases)."""
    for name in names:
        value = env.get(name)
        if value is not None and str(value).strip() != "":
            return str(value).strip()
    return ""


def _int(env, name, default, low, high, unit="") -> int:
    raw = _get(env, name)
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"'{raw}' 不是整数", f"请填写 {low} 到 {high} 之间的整数{unit}") from None
    if not low <= value <= high:
        raise ConfigError(name, f"{value} 超出范围", f"请填写 {low} 到 {high} 之间的整数{unit}")
    return value


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def normalise_region(raw: str) -> str:
    """Accept both `cn-hangzhou` and the endpoint-style `oss-cn-hangzhou`."""
    region = raw.strip().lower()
    if region.startswith("oss-"):
        region = region[4:]
    return region


def credentials_type_of(env: Mapping[str, str]) -> str:
    explicit = _get(env, "CREDENTIALS_TYPE").lower()
    if explicit:
        if explicit not in CREDENTIALS_TYPES:
            raise ConfigError(
                "CREDENTIALS_TYPE", f"不支持 '{explicit}'", "可选值：" + " | ".join(CREDENTIALS_TYPES)
            )
        return explicit
    if _get(env, "ALIBABA_CLOUD_ROLE_ARN", "OSS_STS_ROLE_ARN"):
        return "ram_role_arn"
    if _get(env, "ALIBABA_CLOUD_ECS_METADATA"):
        return "ecs_ram_role"
    return "local"


def _extensions(env) -> frozenset:
    raw = _get(env, "OSS_ALLOWED_EXTENSIONS") or DEFAULT_ALLOWED_EXTENSIONS
    items = [item.strip().lower().lstrip(".") for item in re.split(r"[\s,]+", raw) if item.strip()]
    for item in items:
        if not _EXT_RE.match(item):
            raise ConfigError(
                "OSS_ALLOWED_EXTENSIONS", f"'{item}' 不是合法的扩展名", "请用逗号或空格分隔，例如 jpg,png,pdf"
            )
    if not items:
        raise ConfigError("OSS_ALLOWED_EXTENSIONS", "列表为空", "至少填写一个扩展名，例如 jpg,png")
    return frozenset(items)


def _upload_dir(env) -> str:
    raw = _get(env, "OSS_UPLOAD_DIR") or "uploads/"
    value = raw.strip("/") + "/"
    parts = value[:-1].split("/")
    if any(part in ("", ".", "..") or not re.match(r"^[\w.-]+$", part) for part in parts):
        raise ConfigError(
            "OSS_UPLOAD_DIR", f"'{raw}' 不是合法的目录前缀", "只用字母、数字、-、_、. 和 /，例如 uploads/"
        )
    return value


def _sts_endpoint(env, region) -> str:
    raw = _get(env, "STS_ENDPOINT") or f"sts.{region}.aliyuncs.com"
    if not re.match(r"^(https?://)?[A-Za-z0-9.-]+(:\d{1,5})?/?$", raw):
        raise ConfigError(
            "STS_ENDPOINT", f"'{raw}' 不是合法的地址", "例如 sts.cn-hangzhou.aliyuncs.com 或 http://127.0.0.1:8080"
        )
    return raw.rstrip("/")


def load_settings(env: Mapping[str, str]) -> Settings:
    credentials_type = credentials_type_of(env)
    local = credentials_type == "local"

    region = normalise_region(_get(env, "OSS_REGION") or "cn-hangzhou")
    if not _REGION_RE.match(region):
        raise ConfigError("OSS_REGION", f"'{region}' 不是合法的地域 ID", "例如 cn-hangzhou（也接受 oss-cn-hangzhou）")

    bucket = _get(env, "OSS_BUCKET") or (LOCAL_DEFAULT_BUCKET if local else "")
    if not bucket:
        raise ConfigError("OSS_BUCKET", "未设置", "请在 .env 中填写 Bucket 名称，例如 OSS_BUCKET=examplebucket")
    if not _BUCKET_RE.match(bucket):
        raise ConfigError("OSS_BUCKET", f"'{bucket}' 不是合法的 Bucket 名称", "只含小写字母、数字和短划线，3 到 63 个字符")

    host = _get(env, "HOST") or "127.0.0.1"
    if not (_HOST_RE.match(host) or _is_ip(host)):
        raise ConfigError("HOST", f"'{host}' 不是合法的地址", "本机开发用 127.0.0.1；要让局域网内的手机访问用 0.0.0.0")
    port = _int(env, "PORT", 5000, 1, 65535)
    local_oss_port = _int(env, "LOCAL_OSS_PORT", port + 1 if port < 65535 else 5001, 1, 65535)
    if local and local_oss_port == port:
        raise ConfigError("LOCAL_OSS_PORT", "与 PORT 相同", "本地 OSS 模拟器需要另一个端口，例如 PORT+1")

    upload_host = _get(env, "OSS_UPLOAD_HOST")
    if not upload_host:
        if local:
            upload_host = f"http://{display_host(host)}:{local_oss_port}"
        else:
            upload_host = f"https://{bucket}.oss-{region}.aliyuncs.com"
    if not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", upload_host):
        raise ConfigError(
            "OSS_UPLOAD_HOST", f"'{upload_host}' 不是合法的 URL", "例如 https://examplebucket.oss-cn-hangzhou.aliyuncs.com"
        )

    settings = dict(
        bucket=bucket,
        region=region,
        upload_host=upload_host.rstrip("/"),
        upload_dir=_upload_dir(env),
        max_size=_int(env, "OSS_MAX_SIZE", 100 * MIB, 1, OSS_MAX_OBJECT_SIZE, "（字节，最大 5 GiB）"),
        allowed_extensions=_extensions(env),
        allow_nameless_uploads=bool(_bool(env, "OSS_ALLOW_NAMELESS_UPLOADS")),
        expire_seconds=_int(env, "OSS_EXPIRE_SECONDS", 600, 60, 3600, "（秒）"),
        credentials_type=credentials_type,
        sts_duration_seconds=_int(env, "STS_DURATION_SECONDS", 3600, 900, 43200, "（秒）"),
        local_access_key_id=_get(env, "LOCAL_OSS_ACCESS_KEY_ID") or LOCAL_DEFAULT_ACCESS_KEY_ID,
        local_access_key_secret=_get(env, "LOCAL_OSS_ACCESS_KEY_SECRET") or LOCAL_DEFAULT_ACCESS_KEY_SECRET,
        local_oss_dir=_get(env, "LOCAL_OSS_DIR"),
        local_oss_port=local_oss_port,
        host=host,
        port=port,
    )

    settings.update(_auth(env, local))
    settings.update(_ram_role_arn(env, region) if credentials_type == "ram_role_arn" else NO_RAM_ROLE_ARN)
    settings["ecs_role_name"] = _ecs_role_name(env) if credentials_type == "ecs_ram_role" else ""
    settings.update(_callback(env, local, host, port, settings["secret_key"]))
    settings["download_expire_seconds"] = _int(env, "OSS_DOWNLOAD_EXPIRE_SECONDS", 600, 60, 86400, "（秒）")
    settings["multipart_part_size"] = _int(env, "MULTIPART_PART_SIZE", DEFAULT_PART_SIZE, MIN_PART_SIZE,
                                           OSS_MAX_OBJECT_SIZE, "（字节，至少 102400）")
    settings["database_url"] = _database_url(env)
    settings["user_quota_bytes"] = _int(env, "USER_QUOTA_BYTES", GIB, 0, 2**62, "（字节，0 表示不限）")
    settings["user_quota_files"] = _int(env, "USER_QUOTA_FILES", 1000, 0, 2**31, "（0 表示不限）")
    settings["metrics_token"] = _metrics_token(env)
    return Settings(**settings)


def _metrics_token(env) -> str:
    token = _get(env, "METRICS_TOKEN")
    if token and (len(token) < 16 or not re.fullmatch(r"[\x21-\x7e]+", token)):
        raise ConfigError("METRICS_TOKEN", "太短或含空白（至少 16 个可见 ASCII 字符）",
                          "生成方法：python3 -c \"import secrets; print(secrets.token_hex(32))\"")
    return token


# OSS: every part but the last at least 100 KB. 5 MiB: one part in about 40 s at 1 Mbit/s, inside
# WeChat's 60 s request timeout (docs/large-files.md).
MIN_PART_SIZE = 100 * 1024
DEFAULT_PART_SIZE = 5 * MIB


def _callback(env, local: bool, host: str, port: int, secret_key: str) -> dict:
    """PUBLIC_BASE_URL, OSS_CALLBACK and OSS_CALLBACK_PUBLIC_KEY, checked together."""
    base = _get(env, "PUBLIC_BASE_URL").rstrip("/")
    if not base and local:
        base = f"http://{display_host(host)}:{port}"  # the emulator calls the signer on this machine
    if base:
        pattern = r"^https?://[^\s/?#]+(/[^\s?#]*)?$" if local else r"^https://[^\s/?#]+(/[^\s?#]*)?$"
        if not re.match(pattern, base):
            raise ConfigError("PUBLIC_BASE_URL", f"'{base}' 不是合法的 https 地址",
                              "填写签名服务对公网的 https 地址，例如 https://signer.example.com （OSS 要能访问到它）")
    explicit = _bool(env, "OSS_CALLBACK")
    if explicit and not base:
        raise ConfigError("PUBLIC_BASE_URL", "未设置，而 OSS_CALLBACK=on", "上传回调需要 OSS 能访问到的签名服务地址")
    enabled = bool(base) if explicit is None else explicit
    if enabled and not local and len(secret_key) < 16:
        raise ConfigError("SECRET_KEY", "未设置或太短（至少 16 个字符）", "上传回调的令牌用它签名；生成方法："
                          "python3 -c \"import secrets; print(secrets.token_hex(32))\"")
    pem = _get(env, "OSS_CALLBACK_PUBLIC_KEY").replace("\\n", "\n")
    if pem:
        from .oss_callback import valid_public_key

        if not valid_public_key(pem.encode("ascii", "replace")):
            raise ConfigError("OSS_CALLBACK_PUBLIC_KEY", "不是可用的 RSA 公钥（PEM）",
                              "一般不用设置；设置时填写 -----BEGIN PUBLIC KEY----- 开头的完整 PEM，换行可写成 \\n")
    return dict(public_base_url=base, callback_enabled=enabled, callback_public_key=pem.encode("ascii", "replace"))


# URL scheme -> (DBAPI module it needs, the pip extra that installs it). Only drivers that are tested
# (SQLite, PyMySQL against MariaDB) or documented (psycopg 3) are accepted.
DATABASE_DRIVERS = {
    "sqlite": ("sqlite3", ""),
    "sqlite+pysqlite": ("sqlite3", ""),
    "mysql+pymysql": ("pymysql", "mysql"),
    "mariadb+pymysql": ("pymysql", "mysql"),
    "postgresql+psycopg": ("psycopg", "postgresql"),
}
_DATABASE_EXAMPLES = (
    "例如 sqlite:////var/lib/oss-signer/uploads.sqlite3、mysql+pymysql://用户:密码@rm-xxx.mysql.rds.aliyuncs.com:3306/库名"
    " 或 postgresql+psycopg://用户:密码@主机:5432/库名 ；留空则使用 instance/ 下的 SQLite 文件"
)


def _database_url(env) -> str:
    """Checked without ever echoing the URL: it may hold the database password."""
    raw = _get(env, "DATABASE_URL")
    if not raw:
        return ""
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    if scheme in ("mysql", "mariadb", "mysql+mysqldb", "postgresql", "postgres"):
        raise ConfigError("DATABASE_URL", f"未指定驱动（{scheme}://）", "MySQL / MariaDB 写 mysql+pymysql://... ，PostgreSQL 写 postgresql+psycopg://...")
    if scheme not in DATABASE_DRIVERS:
        shown = scheme if re.fullmatch(r"[a-z0-9+]{1,40}", scheme) else "?"
        raise ConfigError("DATABASE_URL", f"不支持的数据库类型 '{shown}'", _DATABASE_EXAMPLES)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise ConfigError("DATABASE_URL", "格式不对", _DATABASE_EXAMPLES) from None
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            raise ConfigError("DATABASE_URL", "SQLite 需要一个文件路径（内存数据库在进程之间不共享）", _DATABASE_EXAMPLES)
    elif not url.host or not url.database:
        raise ConfigError("DATABASE_URL", "缺少主机名或库名", _DATABASE_EXAMPLES)
    module, extra = DATABASE_DRIVERS[scheme]
    if importlib.util.find_spec(module) is None:
        raise ConfigError(
            "DATABASE_URL", f"没有安装数据库驱动 {module}", f"请运行 pip install -e '.[{extra}]'（在项目目录下，用服务所在的虚拟环境）"
        )
    return raw


NO_RAM_ROLE_ARN = dict(access_key_id="", access_key_secret="", role_arn="", role_session_name="", sts_endpoint="")


def _ecs_role_name(env) -> str:
    # The credentials SDK reads this variable once at import and then refuses to reach the
    # metadata service at all: say so at start-up rather than on the first request.
    if _get(env, "ALIBABA_CLOUD_ECS_METADATA_DISABLED").lower() == "true":
        raise ConfigError(
            "ALIBABA_CLOUD_ECS_METADATA_DISABLED", "为 true，与 ecs_ram_role 模式冲突", "删除这个环境变量，或改用其他 CREDENTIALS_TYPE"
        )
    return _get(env, "ALIBABA_CLOUD_ECS_METADATA")


def _ram_role_arn(env, region) -> dict:
    key_id = _get(env, "ALIBABA_CLOUD_ACCESS_KEY_ID", "OSS_ACCESS_KEY_ID")
    secret = _get(env, "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "OSS_ACCESS_KEY_SECRET")
    role_arn = _get(env, "ALIBABA_CLOUD_ROLE_ARN", "OSS_STS_ROLE_ARN")
    if not key_id:
        raise ConfigError(
            "ALIBABA_CLOUD_ACCESS_KEY_ID", "未设置", "ram_role_arn 模式需要 RAM 用户的 AccessKey ID（也接受 OSS_ACCESS_KEY_ID）"
        )
    if not secret:
        raise ConfigError(
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "未设置",
            "ram_role_arn 模式需要 RAM 用户的 AccessKey Secret（也接受 OSS_ACCESS_KEY_SECRET）",
        )
    if not role_arn:
        raise ConfigError(
            "ALIBABA_CLOUD_ROLE_ARN", "未设置", "请填写角色 ARN，形如 acs:ram::<账号ID>:role/<角色名>（也接受 OSS_STS_ROLE_ARN）"
        )
    if not _ROLE_ARN_RE.match(role_arn):
        raise ConfigError(
            "ALIBABA_CLOUD_ROLE_ARN", f"'{role_arn}' 格式不对", "应形如 acs:ram::1234567890123456:role/oss-upload"
        )
    session_name = _get(env, "ALIBABA_CLOUD_ROLE_SESSION_NAME") or "oss-wechat-upload"
    if not re.match(r"^[\w.@-]{2,64}$", session_name):
        raise ConfigError(
            "ALIBABA_CLOUD_ROLE_SESSION_NAME", f"'{session_name}' 不合法", "2 到 64 个字符：字母、数字、. @ - _"
        )
    return dict(
        access_key_id=key_id,
        access_key_secret=secret,
        role_arn=role_arn,
        role_session_name=session_name,
        sts_endpoint=_sts_endpoint(env, region),
    )


def _bool(env, name) -> "Optional[bool]":
    raw = _get(env, name).lower()
    if raw == "":
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(name, f"'{raw}' 不是布尔值", "请填写 true 或 false")


def _rate(env, name, default) -> str:
    raw = _get(env, name) or default
    if not re.fullmatch(r"\d+\s*/\s*(second|minute|hour|day)", raw):
        raise ConfigError(name, f"'{raw}' 格式不对", "写成 次数/时间单位，例如 30/minute（单位：second, minute, hour, day）")
    return re.sub(r"\s+", "", raw)


def _auth(env, local: bool) -> dict:
    """Login is on by default in the cloud modes; local mode turns it on once WeChat is configured."""
    appid = _get(env, "WECHAT_APPID")
    app_secret = _get(env, "WECHAT_APP_SECRET")
    explicit = _bool(env, "AUTH_REQUIRED")
    if local and explicit is None and bool(appid) != bool(app_secret):
        missing = "WECHAT_APP_SECRET" if appid else "WECHAT_APPID"
        raise ConfigError(missing, "未设置，而另一半已设置", "登录需要 WECHAT_APPID 和 WECHAT_APP_SECRET 都填写；本地不需要登录时两个都留空")
    required = explicit if explicit is not None else (not local or bool(appid and app_secret))
    if required:
        if not appid:
            raise ConfigError(
                "WECHAT_APPID", "未设置，但签名接口默认只对已登录用户开放",
                "填写小程序的 AppID 和 WECHAT_APP_SECRET；确实要开放接口时显式设置 AUTH_REQUIRED=false",
            )
        if not app_secret:
            raise ConfigError(
                "WECHAT_APP_SECRET", "未设置", "在 小程序后台 - 开发 - 开发管理 - 开发设置 中生成 AppSecret 并填入 .env"
            )
    secret_key = _get(env, "SECRET_KEY")
    if required and len(secret_key) < 16:
        raise ConfigError(
            "SECRET_KEY", "未设置或太短（至少 16 个字符）",
            "它用来签发登录令牌，生成方法：python3 -c \"import secrets; print(secrets.token_hex(32))\"",
        )
    api_base = (_get(env, "WECHAT_API_BASE") or "https://api.weixin.qq.com").rstrip("/")
    if not re.match(r"^https?://[^\s/]+$", api_base):
        raise ConfigError("WECHAT_API_BASE", f"'{api_base}' 不是合法的地址", "一般不用设置，默认 https://api.weixin.qq.com")
    storage = _get(env, "RATELIMIT_STORAGE_URI") or "memory://"
    if not re.match(r"^(memory|redis|rediss|redis\+unix)://", storage):
        raise ConfigError("RATELIMIT_STORAGE_URI", f"'{storage}' 不支持", "使用 memory:// （单实例）或 redis://host:6379/0 （多实例）")
    return dict(
        auth_required=required,
        auth_explicitly_off=explicit is False,
        wechat_appid=appid,
        wechat_app_secret=app_secret,
        wechat_api_base=api_base,
        secret_key=secret_key,
        session_ttl_seconds=_int(env, "SESSION_TTL_SECONDS", 7200, 60, 30 * 86400, "（秒）"),
        sign_rate_limit=_rate(env, "SIGN_RATE_LIMIT", "30/minute"),
        login_rate_limit=_rate(env, "LOGIN_RATE_LIMIT", "10/minute"),
        ratelimit_storage_uri=storage,
        trust_proxy_hops=_int(env, "TRUST_PROXY_HOPS", 0, 0, 5),
    )


def describe_missing_cloud(settings: Settings) -> Optional[str]:
    """One line telling a local-mode user what to set to reach real OSS."""
    if not settings.is_local:
        return None
    return (
        "本地模式：未配置云端凭证，使用内置的本地 OSS 模拟器。要上传到真实 OSS，请在 .env 中设置 OSS_BUCKET、"
        "OSS_REGION，以及 ALIBABA_CLOUD_ROLE_ARN + AccessKey（ram_role_arn）或 ALIBABA_CLOUD_ECS_METADATA（ecs_ram_role）"
    )
