"""Full-width punctuation next to Chinese in every text an operator or developer reads in Chinese: the
docs, the README, `.env.example`'s comments, the OpenAPI descriptions, and the server's and the
emulator's messages and logs (Python string literals; docstrings are English and not checked).
Code (fenced blocks and `inline code`), link targets and HTML tags are quoted as they are."""
from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHINESE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef「」《》…“”]")
HALF_WIDTH = ",;:?!()"
QUOTED = re.compile(r"`[^`\n]*`|\]\([^)\s]*\)|<[^>\n]*>|[a-z+]+://[^\s，。；）]+")
CODE = "x"  # what quoted code counts as: not Chinese, whatever it says


def offences(text: str) -> list:
    """Half-width `, ; : ? ! ( )` whose nearest non-space neighbour on either side is Chinese."""
    found = []
    for i, char in enumerate(text):
        if char not in HALF_WIDTH:
            continue
        before = i - 1
        while before >= 0 and text[before] == " ":
            before -= 1
        after = i + 1
        while after < len(text) and text[after] == " ":
            after += 1
        near = (text[before] if before >= 0 else "") + (text[after] if after < len(text) else "")
        if CHINESE.search(near):
            found.append(text[max(0, i - 12):i + 13])
    return found


def prose(markdown: str) -> str:
    """The prose of a Markdown text: fenced blocks, inline code, link targets and tags removed."""
    return QUOTED.sub(CODE, re.sub(r"```.*?```", "", markdown, flags=re.S))


def test_the_check_sees_half_width_punctuation_and_spares_code():
    assert offences("签名服务, 本地模式") == ["签名服务, 本地模式"]
    assert offences("（见下）: x") and offences("上限 (字节)")
    assert offences(prose("示例：`a, b` 和 [文档](docs/a.md)，`wx.login()` 之后")) == []
    assert offences("a, b (c): d") == []


DOCS = sorted(ROOT.glob("docs/*.md")) + [ROOT / "README.md"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs(doc):
    assert offences(prose(doc.read_text(encoding="utf-8"))) == []


def yaml_texts(node) -> list:
    """Every title, summary and description in a parsed YAML document."""
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in
                ([value] if key in ("title", "summary", "description") and isinstance(value, str) else yaml_texts(value))]
    if isinstance(node, list):
        return [text for item in node for text in yaml_texts(item)]
    return []


def test_env_example_comments_and_openapi_descriptions():
    comments = [line for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    assert offences(QUOTED.sub(CODE, "\n".join(comments))) == []
    openapi = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8"))
    assert offences(QUOTED.sub(CODE, "\n".join(yaml_texts(openapi)))) == []


def string_literals(source: str) -> list:
    """The string literals of a Python source, docstrings left out."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    found = []
    for n, token in enumerate(tokens):
        if token.type != tokenize.STRING:
            continue
        before = tokens[n - 1].type if n else tokenize.NEWLINE
        after = tokens[n + 1].type if n + 1 < len(tokens) else tokenize.NEWLINE
        if before in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT) and after in (tokenize.NEWLINE, tokenize.ENDMARKER):
            continue
        found.append(token.string)
    return found


SOURCES = sorted(p for folder in ("server", "oss_emulator", "deploy") for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_server_and_emulator_messages(source):
    texts = [re.sub(r"\{[^{}]*\}", CODE, QUOTED.sub(CODE, text)) for text in string_literals(source.read_text(encoding="utf-8")) if CHINESE.search(text)]
    assert [found for text in texts for found in offences(text)] == []
