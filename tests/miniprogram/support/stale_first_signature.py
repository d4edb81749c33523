"""`python -m server`, except that the first N signatures are issued as if an hour ago.

The end-to-end tests use it to make the real emulator refuse a form as expired, so that the
mini-program's fetch-a-fresh-signature-and-retry path runs against the real processes.
"""
import os
import sys
import threading
from datetime import timedelta

from server import __main__ as entry
from server.upload_forms import UploadSigner

remaining = [int(os.environ.get("STALE_SIGNATURES", "1"))]
lock = threading.Lock()
original_sign = UploadSigner.sign


def sign(self, *args, **kwargs):
    with lock:
        stale = remaining[0] > 0
        if stale:
            remaining[0] -= 1
    if not stale:
        return original_sign(self, *args, **kwargs)
    clock = self.clock
    self.clock = lambda: clock() - timedelta(hours=1)
    try:
        return original_sign(self, *args, **kwargs)
    finally:
        self.clock = clock


UploadSigner.sign = sign

if __name__ == "__main__":
    sys.exit(entry.main())
