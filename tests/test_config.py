"""Settings: defaults, normalisation, aliases, type inference, and one clear error per bad value."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ROLE_ARN
from server.config import GIB, MIB, ConfigError, load_settings
from tests.net import free_port

REPO = Path(__file__).resolve().parent.parent

RAM = {
    "AUTH_REQUIRED": "false",
    "OSS_BUCKET": "examplebucket",
    "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
    "ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN,
}


def test_local_defaults():
    s = load_settings({})
    assert s.credentials_type == "local" and s.is_local
    assert s.bucket == "local-bucket"
    assert s.region == "cn-hangzhou"
    assert s.upload_dir == "uploads/"
    assert s.max_size == 100 * MIB
    assert s.expire_seconds == 600
    assert s.sts_duration_seconds == 3600
    assert (s.host, s.port, s.local_oss_port) == ("127.0.0.1", 5000, 5001)
    assert s.upload_host == "http://127.0.0.1:5001"
    assert {"jpg", "png", "mp4", "mp3", "pdf", "docx", "xlsx", "txt", "zip"} <= s.allowed_extensions
    assert not {"html", "svg", "exe", "js"} & s.allowed_extensions


def test_cloud_defaults():
    s = load_settings(RAM)
    assert s.credentials_type == "ram_role_arn"
    assert s.upload_host == "https://examplebucket.oss-cn-hangzhou.aliyuncs.com"
    assert s.sts_endpoint == "sts.cn-hangzhou.aliyuncs.com"
    assert s.role_session_name == "oss-wechat-upload"
    assert (s.access_key_id, s.access_key_secret, s.role_arn) == (ACCESS_KEY_ID, ACCESS_KEY_SECRET, ROLE_ARN)


@pytest.mark.parametrize("raw", ["oss-cn-hangzhou", "cn-hangzhou", " OSS-CN-HANGZHOU "])
def test_region_normalised(raw):
    s = load_settings({**RAM, "OSS_REGION": raw})
    assert s.region == "cn-hangzhou"
    assert s.upload_host == "https://examplebucket.oss-cn-hangzhou.aliyuncs.com"
    assert s.sts_endpoint == "sts.cn-hangzhou.aliyuncs.com"


def test_upload_dir_and_extensions_normalised():
    s = load_settings({"OSS_UPLOAD_DIR": "/media/wx/", "OSS_ALLOWED_EXTENSIONS": ".JPG, png  pdf"})
    assert s.upload_dir == "media/wx/"
    assert s.allowed_extensions == frozenset({"jpg", "png", "pdf"})


def test_limits_at_their_maximum_are_accepted():
    s = load_settings({"OSS_MAX_SIZE": str(5 * GIB), "OSS_EXPIRE_SECONDS": "3600"})
    assert (s.max_size, s.expire_seconds) == (5 * GIB, 3600)


def test_aliases_from_the_tutorial():
    s = load_settings(
        {
            "AUTH_REQUIRED": "false",
            "OSS_BUCKET": "examplebucket",
            "OSS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "OSS_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
            "OSS_STS_ROLE_ARN": ROLE_ARN,
        }
    )
    assert s.credentials_type == "ram_role_arn"
    assert (s.access_key_id, s.access_key_secret, s.role_arn) == (ACCESS_KEY_ID, ACCESS_KEY_SECRET, ROLE_ARN)


def test_sdk_names_win_over_aliases():
    s = load_settings({**RAM, "OSS_ACCESS_KEY_ID": "LTAIother", "OSS_STS_ROLE_ARN": "acs:ram::1:role/other"})
    assert (s.access_key_id, s.role_arn) == (ACCESS_KEY_ID, ROLE_ARN)


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN}, "ram_role_arn"),
        ({"OSS_STS_ROLE_ARN": ROLE_ARN}, "ram_role_arn"),
        ({"ALIBABA_CLOUD_ECS_METADATA": "oss-role"}, "ecs_ram_role"),
        ({}, "local"),
        ({"ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID}, "local"),
    ],
)
def test_credentials_type_inferred(env, expected):
    base = {
        "AUTH_REQUIRED": "false",
        "OSS_BUCKET": "examplebucket",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
    }
    s = load_settings({**base, **env})
    assert s.credentials_type == expected
    if expected == "ecs_ram_role":
        assert s.ecs_role_name == "oss-role"


def test_explicit_type_wins_over_inference():
    s = load_settings({**RAM, "CREDENTIALS_TYPE": "LOCAL"})
    assert s.credentials_type == "local"


@pytest.mark.parametrize(
    "env, setting",
    [
        ({"CREDENTIALS_TYPE": "oidc"}, "CREDENTIALS_TYPE"),
        ({"OSS_REGION": "hangzhou"}, "OSS_REGION"),
        ({"OSS_REGION": "cn_hangzhou"}, "OSS_REGION"),
        ({"OSS_BUCKET": "Bad_Bucket"}, "OSS_BUCKET"),
        ({"OSS_BUCKET": "ab"}, "OSS_BUCKET"),
        ({"OSS_MAX_SIZE": str(5 * GIB + 1)}, "OSS_MAX_SIZE"),
        ({"OSS_MAX_SIZE": "0"}, "OSS_MAX_SIZE"),
        ({"OSS_MAX_SIZE": "10MB"}, "OSS_MAX_SIZE"),
        ({"OSS_EXPIRE_SECONDS": "3601"}, "OSS_EXPIRE_SECONDS"),
        ({"OSS_EXPIRE_SECONDS": "30"}, "OSS_EXPIRE_SECONDS"),
        ({"OSS_EXPIRE_SECONDS": "ten"}, "OSS_EXPIRE_SECONDS"),
        ({"STS_DURATION_SECONDS": "600"}, "STS_DURATION_SECONDS"),
        ({"OSS_UPLOAD_DIR": "../etc/"}, "OSS_UPLOAD_DIR"),
        ({"OSS_UPLOAD_DIR": "a//b"}, "OSS_UPLOAD_DIR"),
        ({"OSS_UPLOAD_DIR": "up loads/"}, "OSS_UPLOAD_DIR"),
        ({"OSS_ALLOWED_EXTENSIONS": "jpg,p*g"}, "OSS_ALLOWED_EXTENSIONS"),
        ({"OSS_ALLOWED_EXTENSIONS": " , "}, "OSS_ALLOWED_EXTENSIONS"),
        ({"OSS_UPLOAD_HOST": "ftp://example.com"}, "OSS_UPLOAD_HOST"),
        ({"OSS_UPLOAD_HOST": "examplebucket.oss-cn-hangzhou.aliyuncs.com"}, "OSS_UPLOAD_HOST"),
        ({"PORT": "70000"}, "PORT"),
        ({"PORT": "http"}, "PORT"),
        ({"HOST": "my laptop"}, "HOST"),
        ({"HOST": "http://0.0.0.0"}, "HOST"),
        ({"ALIBABA_CLOUD_ACCESS_KEY_ID": ""}, "ALIBABA_CLOUD_ACCESS_KEY_ID"),
        ({"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "  "}, "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
        ({"ALIBABA_CLOUD_ROLE_ARN": "oss-upload"}, "ALIBABA_CLOUD_ROLE_ARN"),
        ({"ALIBABA_CLOUD_ROLE_SESSION_NAME": "has space"}, "ALIBABA_CLOUD_ROLE_SESSION_NAME"),
        ({"STS_ENDPOINT": "http://sts host:80"}, "STS_ENDPOINT"),
        ({"STS_ENDPOINT": "sts.cn-hangzhou.aliyuncs.com/path"}, "STS_ENDPOINT"),
        ({"DATABASE_URL": "oracle://u:p@h/db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://u:p@h/db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://u:p@h/db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "uploads.sqlite3"}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite://"}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite:///:memory:"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql+pymysql://u:p@/db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql+pymysql://u:p@rm-x.mysql.rds.aliyuncs.com:3306"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql+pymysql://u:p@h:port/db"}, "DATABASE_URL"),
    ],
)
def test_bad_setting_names_itself(env, setting):
    with pytest.raises(ConfigError) as caught:
        load_settings({**RAM, **env})
    assert caught.value.setting == setting
    line = str(caught.value)
    assert setting in line and "\n" not in line


def test_missing_bucket_in_cloud_mode():
    env = {k: v for k, v in RAM.items() if k != "OSS_BUCKET"}
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert caught.value.setting == "OSS_BUCKET"


def test_missing_role_arn_with_explicit_type():
    env = {k: v for k, v in RAM.items() if k != "ALIBABA_CLOUD_ROLE_ARN"}
    with pytest.raises(ConfigError) as caught:
        load_settings({**env, "CREDENTIALS_TYPE": "ram_role_arn"})
    assert caught.value.setting == "ALIBABA_CLOUD_ROLE_ARN"


def test_local_emulator_port_must_differ():
    with pytest.raises(ConfigError) as caught:
        load_settings({"PORT": "8000", "LOCAL_OSS_PORT": "8000"})
    assert caught.value.setting == "LOCAL_OSS_PORT"


def test_sts_endpoint_accepts_a_local_url():
    s = load_settings({**RAM, "STS_ENDPOINT": "http://127.0.0.1:8080/"})
    assert s.sts_endpoint == "http://127.0.0.1:8080"


def test_settings_repr_hides_secrets():
    s = load_settings({**RAM, "LOCAL_OSS_ACCESS_KEY_SECRET": "local-secret-value"})
    assert ACCESS_KEY_SECRET not in repr(s)
    assert "local-secret-value" not in repr(s)


@pytest.mark.parametrize("url", [
    "sqlite:////var/lib/oss-signer/uploads.sqlite3",
    "sqlite:///relative/uploads.sqlite3",
    "mysql+pymysql://app:p%40ss@rm-x.mysql.rds.aliyuncs.com:3306/uploads?charset=utf8mb4",
    "mariadb+pymysql://app:pw@127.0.0.1/uploads",
])
def test_database_urls_that_are_accepted(url):
    assert load_settings({"DATABASE_URL": url}).database_url == url
    assert load_settings({}).database_url == ""  # the instance folder's SQLite file


def test_a_bad_database_url_never_echoes_its_password():
    for url in ("oracle://app:Hunter2-secret@h/db", "mysql://app:Hunter2-secret@h/db", "mysql+pymysql://app:Hunter2-secret@h:x/db"):
        with pytest.raises(ConfigError) as caught:
            load_settings({"DATABASE_URL": url})
        assert "Hunter2-secret" not in str(caught.value)
    assert "Hunter2-secret" not in repr(load_settings({"DATABASE_URL": "mysql+pymysql://app:Hunter2-secret@h/db"}))


def test_a_missing_database_driver_says_what_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else real(name, *a))
    with pytest.raises(ConfigError) as caught:
        load_settings({"DATABASE_URL": "postgresql+psycopg://app:pw@db.example/uploads"})
    assert "pip install -e '.[postgresql]'" in str(caught.value)


def _run_server(tmp_path, env_extra):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "DATABASE_URL": f"sqlite:///{tmp_path}/uploads.sqlite3",
    }
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "server"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=20
    )


@pytest.mark.parametrize(
    "env_extra, setting",
    [
        ({"OSS_MAX_SIZE": "6000000000"}, "OSS_MAX_SIZE"),
        ({"OSS_REGION": "nowhere"}, "OSS_REGION"),
        ({"OSS_STS_ROLE_ARN": ROLE_ARN, "AUTH_REQUIRED": "false", "OSS_BUCKET": "examplebucket"}, "ALIBABA_CLOUD_ACCESS_KEY_ID"),
    ],
)
def test_python_m_server_reports_one_line(tmp_path, env_extra, setting):
    result = _run_server(tmp_path, env_extra)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert setting in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_ecs_mode_with_metadata_disabled_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        load_settings({"OSS_BUCKET": "examplebucket", "ALIBABA_CLOUD_ECS_METADATA": "role",
                       "AUTH_REQUIRED": "false", "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"})
    assert caught.value.setting == "ALIBABA_CLOUD_ECS_METADATA_DISABLED"


@pytest.mark.parametrize("present, missing", [("WECHAT_APPID", "WECHAT_APP_SECRET"), ("WECHAT_APP_SECRET", "WECHAT_APPID")])
def test_half_of_the_wechat_settings_in_local_mode_is_an_error(present, missing):
    with pytest.raises(ConfigError) as caught:
        load_settings({present: "value"})
    assert caught.value.setting == missing




def test_python_m_server_names_host_when_it_cannot_bind_there(tmp_path):
    # 192.0.2.1 is a documentation address: no machine has it, so bind() fails locally.
    result = _run_server(tmp_path, {"HOST": "192.0.2.1", "PORT": str(free_port())})
    assert result.returncode == 2
    # Start-up log lines come first; the failure is the one last line.
    assert "HOST" in result.stderr.strip().splitlines()[-1] and "Traceback" not in result.stderr


def test_python_m_server_names_local_oss_dir_when_unusable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {"LOCAL_OSS_DIR": str(blocker / "oss"), "PORT": str(free_port()), "LOCAL_OSS_PORT": str(free_port())}
    result = _run_server(tmp_path, env)
    assert result.returncode == 2
    assert "LOCAL_OSS_DIR" in result.stderr and "Traceback" not in result.stderr
