"""Local mode's OSS: a PostObject (V4) emulator with read-back and a file list."""
from .app import Emulator, create_emulator_app, default_storage_dir

__all__ = ["Emulator", "create_emulator_app", "default_storage_dir"]
