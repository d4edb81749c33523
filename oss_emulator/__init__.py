"""Local mode's OSS: a private bucket emulator (V4 forms and requests, callbacks, multipart) and its console."""
from .app import Emulator, create_emulator_app, default_storage_dir

__all__ = ["Emulator", "create_emulator_app", "default_storage_dir"]
