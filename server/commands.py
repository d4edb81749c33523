"""What the command-line tools (`python -m server.check`, `python -m server.reconcile`) share."""
from __future__ import annotations

from typing import Callable, Optional


def app_from_environment(out: Callable[[str], None]) -> Optional[object]:
    """The app with the settings the signer would use (.env and the environment); None after printing
    the one-line settings error (the tools then exit with status 2)."""
    from . import create_app
    from .config import ConfigError

    try:
        return create_app()
    except ConfigError as error:
        out(str(error))
        return None
