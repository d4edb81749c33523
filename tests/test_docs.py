"""The docs stay true: settings, file paths, links, make targets, error codes and policies they name."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from dotenv import dotenv_values

from server.config import load_settings
from server.credentials.sts import session_policy

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "server"
ENV_EXAMPLE = ROOT / ".env.example"
DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
SETTING_READERS = {"_get", "_int", "_bool", "_rate"}
# `__init__`: ApiError subclasses that fix their own code pass it to super().__init__.
ERROR_CARRIERS = {"ApiError", "UploadRejected", "LoginFailed", "error_response", "__init__"}


def _server_modules():
    for path in sorted(SERVER.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _strings(nodes):
    return [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _settings_read():
    """(primary names, alias names) the server reads from its environment."""
    primary, aliases = set(), set()
    for _path, tree in _server_modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node)
            if name in SETTING_READERS:
                # _get(env, name, *aliases); the others take (env, name, ...) with other strings after.
                names = _strings(node.args[1:] if name == "_get" else node.args[1:2])
                if names:
                    primary.add(names[0])
                    aliases.update(names[1:])
            # Direct environment reads anywhere else: os.environ.get("X"), os.getenv("X").
            elif name in ("getenv",) or (
                name == "get" and isinstance(node.func, ast.Attribute) and ast.unparse(node.func.value) in ("os.environ", "environ")
            ):
                primary.update(_strings(node.args[:1]))
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript) and ast.unparse(node.value) in ("os.environ", "environ"):
                primary.update(_strings([node.slice]))
    return primary, aliases - primary


def _env_example_keys():
    keys = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if match:
            keys.append(match.group(1))
    return keys


def _docs_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in DOCS)


def _without_code_blocks(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


# ---------- settings ----------

def test_the_settings_scan_finds_what_config_reads():
    primary, aliases = _settings_read()
    # A guard on the scanner itself: if these vanish, the scan is broken, not the docs.
    assert {"OSS_BUCKET", "PORT", "AUTH_REQUIRED", "SIGN_RATE_LIMIT", "TRUST_PROXY_HOPS"} <= primary
    assert {"OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_STS_ROLE_ARN"} <= aliases


# Set for the service, never by the operator: by systemd (StateDirectory=) and by deploy/gunicorn.conf.py
# (several workers' metrics): explained, not given a line.
SET_BY_SYSTEMD = {"STATE_DIRECTORY", "PROMETHEUS_MULTIPROC_DIR"}


def test_every_setting_the_server_reads_is_in_env_example():
    primary, aliases = _settings_read()
    keys = set(_env_example_keys())
    assert sorted(primary - keys - SET_BY_SYSTEMD) == []
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    assert all(name in text for name in SET_BY_SYSTEMD)
    # Aliases (the original tutorial's names) are mentioned, not given a line of their own.
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    assert sorted(a for a in aliases if a not in text) == []


def test_every_setting_in_env_example_is_read_by_the_server():
    primary, _aliases = _settings_read()
    keys = _env_example_keys()
    assert len(keys) == len(set(keys)), "a setting appears twice in .env.example"
    assert sorted(set(keys) - primary) == []


def test_every_setting_is_explained_in_the_docs():
    primary, aliases = _settings_read()
    text = _docs_text()
    missing = sorted(name for name in primary | aliases if not re.search(rf"(?<![A-Z0-9_]){name}(?![A-Z0-9_])", text))
    assert missing == []


def test_env_example_as_is_gives_valid_local_settings():
    values = {k: v for k, v in dotenv_values(ENV_EXAMPLE).items() if v is not None}
    settings = load_settings(values)
    assert settings.is_local and not settings.auth_required


def test_env_example_values_are_the_defaults():
    # What the example shows is what you get by leaving the setting out.
    values = {k: v for k, v in dotenv_values(ENV_EXAMPLE).items() if v is not None}
    assert load_settings(values) == load_settings({})


# ---------- paths, links, make targets ----------

_REPO_PATH = re.compile(
    r"(?<![\w/.\-~])((?:server|miniprogram|deploy|docs|tests|\.ci)/[\w.\-/{},]*[\w}]"
    r"|\.env\.example|Makefile|pyproject\.toml|package\.json|package-lock\.json|project\.config\.json)"
)


def _expand_braces(path: str):
    match = re.search(r"\{([^{}]*)\}", path)
    if not match:
        return [path]
    out = []
    for option in match.group(1).split(","):
        out.extend(_expand_braces(path[: match.start()] + option + path[match.end():]))
    return out


def _named_paths(text: str):
    # Inline code and plain text; URLs and absolute server paths (/opt/..., /etc/...) are not repo paths.
    text = re.sub(r"https?://\S+", "", text)
    return {p for m in _REPO_PATH.finditer(text) for p in _expand_braces(m.group(1))}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_repo_path_named_in_the_docs_exists(doc):
    missing = sorted(p for p in _named_paths(doc.read_text(encoding="utf-8")) if not (ROOT / p.rstrip("/")).exists())
    assert missing == []


def test_the_path_scan_sees_paths():
    found = _named_paths("see `server/upload_forms.py`, deploy/nginx.conf and miniprogram/pages/index/index.{js,wxml}; "
                         "not /opt/oss-signer/deploy/x nor https://e.com/docs/a")
    assert found == {"server/upload_forms.py", "deploy/nginx.conf", "miniprogram/pages/index/index.js",
                     "miniprogram/pages/index/index.wxml"}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_exists(doc):
    text = doc.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text)
    missing = []
    for target in targets:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.exists():
            missing.append(target)
    assert missing == []


def _make_targets():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, flags=re.M))


def test_every_make_target_named_in_the_docs_exists():
    named = set(re.findall(r"(?<![\w-])make\s+([a-z][\w-]*)", _docs_text()))
    assert {"run", "test"} <= named
    assert sorted(named - _make_targets()) == []


# ---------- API facts ----------

def _error_codes():
    codes = set()
    for _path, tree in _server_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) in ERROR_CARRIERS:
                codes.update(s for s in _strings(node.args[1:2]) if re.fullmatch(r"[A-Z][A-Za-z]+", s))
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in ("ERRCODES", "HTTP_CODES") for t in node.targets
            ):
                for value in node.value.values:
                    codes.update(s for s in _strings(value.elts) if re.fullmatch(r"[A-Z][A-Za-z]+", s))
    return codes


def test_every_signer_error_code_is_documented():
    codes = _error_codes()
    assert {"Unauthorized", "FileTooLarge", "CredentialsUnavailable", "WeChatUnavailable"} <= codes
    text = _docs_text()
    assert sorted(c for c in codes if not re.search(rf"\b{c}\b", text)) == []


def test_every_endpoint_is_documented():
    routes = set()
    for _path, tree in _server_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) in ("get", "post", "route") and isinstance(
                node.func, ast.Attribute
            ) and ast.unparse(node.func.value) == "bp":
                routes.update(_strings(node.args[:1]))
    assert "/generate_signature" in routes
    text = _docs_text()
    assert sorted(r for r in routes if r not in text) == []


# ---------- policies shown in the docs ----------

def _json_blocks(path: Path):
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)]


def test_json_blocks_in_the_docs_parse():
    for doc in DOCS:
        for block in re.findall(r"```json\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S):
            json.loads(block)  # raises with the position of the mistake


def test_documented_role_policy_is_least_privilege_and_matches_the_session_policy():
    blocks = _json_blocks(ROOT / "docs" / "ram-role.md")
    put_only = [b for b in blocks if "oss:PutObject" in json.dumps(b)]  # every policy block shown
    assert put_only, "docs/ram-role.md shows no oss:PutObject policy"
    expected = json.loads(session_policy("examplebucket", "uploads/"))
    for block in put_only:
        assert block == expected
        assert "AliyunOSSFullAccess" not in json.dumps(block)


def test_readme_quick_start_keeps_its_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in ("make run", "make test", "python -m venv .venv", r".venv\Scripts\pip install -e .",
                    r".venv\Scripts\python -m server", "npm ci && npm test"):
        assert command in text, command
    assert text.lstrip("# \n").split("\n", 1)[0]  # a title line
    assert "```mermaid" in text and "jscode2session" in text and "wx.login" in text


def test_buttons_named_in_the_readme_are_on_the_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = (ROOT / "miniprogram" / "pages" / "index" / "index.wxml").read_text(encoding="utf-8")
    for label in ("选择文件", "相册 / 拍摄"):
        assert label in readme and f">{label}</button>" in page, label
