"""`python -m server.check`: one tiny file through the configured bucket, before touching a phone.

With the settings the signer would use (.env and the environment), it takes temporary
credentials, signs an upload form, posts a small text file to the bucket exactly as the
mini-program would, reads it back through a presigned URL, deletes it, and prints each step's
result in Chinese. Exit status 0 when every step worked, 1 otherwise, 2 for a settings mistake.
The form is signed without the upload callback, so the check leaves no record behind.
"""
from __future__ import annotations

import sys
import time
import xml.etree.ElementTree as ET
from datetime import timedelta

import requests


# What an operator most likely has to fix, by the OSS error code the bucket answered.
HINTS = {
    "AccessDenied": "RAM 策略不允许这个动作，或 Bucket 策略拒绝了它：按 docs/ram-role.md 检查角色的自定义策略",
    "SignatureDoesNotMatch": "签名不对：检查 OSS_REGION 是否是 Bucket 所在的地域，以及 OSS_UPLOAD_HOST",
    "InvalidAccessKeyId": "临时凭证无效：检查凭证配置（docs/ram-role.md）",
    "SecurityTokenExpired": "临时凭证已过期：检查服务器时钟（chrony）",
    "RequestTimeTooSkewed": "服务器时钟与 OSS 相差超过 15 分钟：开启 chrony 时钟同步",
    "NoSuchBucket": "Bucket 不存在：检查 OSS_BUCKET 和 OSS_REGION",
}
CHECK_FOLDER = "oss-check/"
BODY = "OSS 上传自检 / upload self-check\n".encode("utf-8")


class StepFailed(Exception):
    pass


def _oss_error(response) -> str:
    try:
        root = ET.fromstring(response.content)
        code, message = root.findtext("Code") or "", root.findtext("Message") or ""
        request_id = root.findtext("RequestId") or response.headers.get("x-oss-request-id", "")
    except ET.ParseError:
        return f"HTTP {response.status_code}"
    hint = HINTS.get(code, "")
    return f"HTTP {response.status_code} {code}: {message} (RequestId {request_id})" + (f"\n      建议：{hint}" if hint else "")


class Check:
    def __init__(self, out=print):
        self.out = out
        self.failed = False

    def step(self, title: str, action) -> bool:
        """Run one step and print its line; False (and later steps skipped) when it failed."""
        started = time.monotonic()
        try:
            detail = action()
        except StepFailed as error:
            reason = str(error)
        except Exception as error:  # an ApiError from the OSS module (StorageUnavailable...), or a bug
            reason = f"{getattr(error, 'message', None) or type(error).__name__}（详细原因见上面的日志）"
        else:
            self.out(f"  ✓ {title}（{(time.monotonic() - started) * 1000:.0f} ms）{'：' + detail if detail else ''}")
            return True
        self.failed = True
        self.out(f"  ✗ {title}：{reason}")
        return False


def run(out=print) -> int:
    from .commands import app_from_environment
    from .upload_forms import UploadSigner

    app = app_from_environment(out)
    if app is None:
        return 2
    settings = app.config["SETTINGS"]
    signer = app.extensions["upload_signer"]
    bucket = app.extensions["bucket"]
    check = Check(out)
    out(f"OSS 自检：Bucket {settings.bucket}（地域 {settings.region}），凭证方式 {settings.credentials_type}，上传地址 {settings.upload_host}")
    state = {}

    def credentials():
        deadline = time.monotonic() + 10
        while True:
            status = signer.credentials.status()
            if status["usable"]:
                return f"还有 {status['expiresInSeconds']} 秒过期"
            if time.monotonic() > deadline:
                raise StepFailed(f"拿不到临时凭证（{status['lastError']}）；详细原因和修复建议见上面的日志")
            time.sleep(0.2)

    def sign():
        plain = UploadSigner(settings, signer.credentials, signer.clock)  # no callback: the check records nothing
        state["form"] = plain.sign("oss-check.txt", str(len(BODY)), CHECK_FOLDER)
        return state["form"]["key"]

    def upload():
        form = state["form"]
        files = [(name, (None, value)) for name, value in form["formData"].items()] + [
            ("file", ("oss-check.txt", BODY, "text/plain"))]
        try:
            response = requests.post(form["host"], files=files, timeout=15)
        except requests.RequestException as error:
            raise StepFailed(f"连不上 {form['host']} （{type(error).__name__}）：检查网络、OSS_UPLOAD_HOST"
                             + ("；本地模式要先 make run" if settings.is_local else "")) from None
        if response.status_code not in (200, 204):
            raise StepFailed(_oss_error(response))
        return f"HTTP {response.status_code}"

    def head():
        info = bucket.head(state["form"]["key"])
        if info is None:
            raise StepFailed("上传后 HEAD 找不到对象")
        if info.size != len(BODY):
            raise StepFailed(f"大小不对：{info.size} 字节，应为 {len(BODY)}")
        return f"{info.size} 字节，{info.content_type}"

    def read_back():
        url = bucket.presign_get(state["form"]["key"], signer.clock() + timedelta(minutes=2))
        try:
            response = requests.get(url, timeout=15)
        except requests.RequestException as error:
            raise StepFailed(f"预签名链接请求失败（{type(error).__name__}）") from None
        if response.status_code != 200:
            raise StepFailed(_oss_error(response))
        if response.content != BODY:
            raise StepFailed("读回的内容与上传的不一致")
        return "内容一致"

    def delete():
        bucket.delete(state["form"]["key"])
        if bucket.head(state["form"]["key"]) is not None:
            raise StepFailed("删除后对象仍在")
        return ""

    steps = [("获取临时凭证", credentials), ("签发上传表单", sign), ("上传一个小文件（PostObject）", upload),
             ("服务端 HEAD 对象", head), ("通过预签名链接读回", read_back), ("删除对象", delete)]
    for title, action in steps:
        if not check.step(title, action):
            break
    out("全部通过：云端配置可以使用，接下来在手机上试试。" if not check.failed else
        "自检没有通过：按上面的提示修正后再运行 python -m server.check")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(run())
