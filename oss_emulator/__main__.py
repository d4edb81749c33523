"""`python -m oss_emulator`: the emulator alone, serving one bucket to any OSS client (docs/local-oss.md).

For code that is not this kit, or for several signer instances sharing one emulator. Prints the
endpoint, the bucket, the local access key pair and how to point oss2, alibabacloud-oss-v2 and
ali-oss at it, then serves until interrupted.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from server.config import ConfigError, display_host, load_settings
from server.serving import bind_or_explain, serve_until_interrupted
from .app import create_emulator_app
from .serve import show_console

USAGE = """\
本地 OSS 模拟器已启动（按 Ctrl+C 停止）
  Endpoint:        {endpoint}
  Bucket:          {bucket}
  Region:          {region}
  AccessKeyId:     {key_id}
  AccessKeySecret: {secret}
  数据目录：       {directory}
客户端配置（详见 docs/local-oss.md）：
  oss2:                oss2.Bucket(oss2.Auth(id, secret), "{endpoint}", "{bucket}")
  alibabacloud-oss-v2: Config(region="{region}", endpoint="{endpoint}", ...)
  ali-oss:             new OSS({{ endpoint: "{endpoint}", bucket: "{bucket}", region: "oss-{region}", ... }})
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m oss_emulator", description="本地 OSS 模拟器（单个 Bucket）")
    parser.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1；局域网访问用 0.0.0.0）")
    parser.add_argument("--port", type=int, default=5001, help="端口（默认 5001；0 为任选一个空闲端口）")
    parser.add_argument("--dir", default=None, help="数据目录（默认与 make run 相同：签名服务的 instance 目录下的 local-oss/<bucket>）")
    parser.add_argument("--bucket", default="local-bucket", help="Bucket 名（默认 local-bucket）")
    parser.add_argument("--region", default="cn-hangzhou", help="地域（默认 cn-hangzhou）")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    env = {"CREDENTIALS_TYPE": "local", "OSS_BUCKET": args.bucket, "OSS_REGION": args.region, "HOST": args.host}
    for name in ("LOCAL_OSS_ACCESS_KEY_ID", "LOCAL_OSS_ACCESS_KEY_SECRET"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    if args.dir:
        env["LOCAL_OSS_DIR"] = args.dir
    try:
        settings = load_settings(env)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_emulator_app(settings)
    except OSError as error:
        print(f"无法使用数据目录：{error.strerror or error}。检查 --dir", file=sys.stderr)
        return 2
    server = bind_or_explain(args.host, args.port, app, "本地 OSS 模拟器", "--port")
    if server is None:
        return 1
    endpoint = f"http://{display_host(args.host)}:{server.socket.getsockname()[1]}"
    print(USAGE.format(endpoint=endpoint, bucket=settings.bucket, region=settings.region,
                       key_id=settings.local_access_key_id, secret=settings.local_access_key_secret,
                       directory=app.directory), file=sys.stderr, flush=True)
    show_console(app, args.host, endpoint)
    return serve_until_interrupted(server)


if __name__ == "__main__":
    sys.exit(main())
