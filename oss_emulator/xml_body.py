"""OSS's XML result bodies: elements with escaped text, and the response that carries them."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Sequence, Tuple

from werkzeug.wrappers import Response

from .errors import xml_text

XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'

Fields = Sequence[Tuple[str, object]]


def elements(fields: Fields, indent: str = "  ") -> str:
    """`<Name>text</Name>` lines; a value of None leaves its element out."""
    return "".join(f"{indent}<{n}>{xml_text(v)}</{n}>\n" for n, v in fields if v is not None)


def group(name: str, fields: Fields, indent: str = "  ") -> str:
    """A nested element holding `fields`."""
    return f"{indent}<{name}>\n{elements(fields, indent + '  ')}{indent}</{name}>\n"


def document(root: str, parts: Iterable[str]) -> Response:
    """A result document of already rendered `parts` (elements(), group())."""
    body = XML_HEAD + f"<{root}>\n" + "".join(parts) + f"</{root}>\n"
    return Response(body, content_type="application/xml")


def iso_time(seconds: float) -> str:
    """OSS's timestamps in XML: `2012-02-24T08:42:32.000Z`."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
