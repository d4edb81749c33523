"""A loopback stand-in for STS: answers every AssumeRole after a fixed delay and counts the calls.

    python -m bench.sts_standin [--delay-ms 50]

Prints its port on the first line of stdout; `GET /calls` answers the number of AssumeRole calls.
Each request is served on its own thread, as the real service would serve many clients at once.
"""
from __future__ import annotations

import argparse
import json
import secrets
import socket
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LIFETIME_SECONDS = 3600


def assume_role_body() -> bytes:
    expiration = datetime.now(timezone.utc) + timedelta(seconds=LIFETIME_SECONDS)
    return json.dumps({
        "RequestId": secrets.token_hex(16).upper(),
        "AssumedRoleUser": {"Arn": "acs:ram::1234567890123456:role/bench/bench", "AssumedRoleId": "3445:bench"},
        "Credentials": {
            "AccessKeyId": "STS.NUbench" + secrets.token_hex(6),
            "AccessKeySecret": secrets.token_urlsafe(30),
            "SecurityToken": "CAIS" + secrets.token_urlsafe(300),
            "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }).encode()


def make_server(delay: float) -> ThreadingHTTPServer:
    lock = threading.Lock()
    calls = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            # Headers and body leave in two writes: without this, Nagle plus the client's delayed
            # ACK would add 40 ms that the real service does not have.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _answer(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/calls":
                with lock:
                    self._answer(json.dumps({"calls": calls[0]}).encode())
                return
            self.do_POST()

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            # Both SDK styles: ROA-ish header (sts20150401) or RPC query (Action=AssumeRole).
            if self.headers.get("x-acs-action") != "AssumeRole" and "Action=AssumeRole" not in self.path:
                self.send_error(400)
                return
            with lock:
                calls[0] += 1
            time.sleep(delay)
            self._answer(assume_role_body())

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    return Server(("127.0.0.1", 0), Handler)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="loopback STS stand-in")
    parser.add_argument("--delay-ms", type=float, default=50.0)
    args = parser.parse_args(argv)
    server = make_server(args.delay_ms / 1000)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
