# Two commands matter: `make run` starts the kit, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
TEST_STAMP := $(VENV)/.test-installed

.PHONY: run test test-python bench check reconcile install clean redis-server

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	@touch $@

# pip compiles bytecode one file at a time; compileall on every core does it in a fraction of that (about
# 15 s less from nothing). A file some package ships that does not compile is skipped, as pip skips it.
$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --no-compile -e '.[test]'
	$(BIN)/python -m compileall -qq -j 0 $(VENV)/lib || true
	@touch $@ $(RUNTIME_STAMP)

install: $(RUNTIME_STAMP)

run: $(RUNTIME_STAMP)
	$(BIN)/python -m server

test: test-python test-js

# The mini-program's tests (Node; the end-to-end ones start the Python server): npm ci only when the lock file changed.
NPM_STAMP := node_modules/.npm-ci-installed

$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: test-js
test-js: $(NPM_STAMP) $(TEST_STAMP)
	npm test

test-python: $(TEST_STAMP) redis-server nginx-binary mariadb-binary
	$(BIN)/python -m pytest -q -n 2

# deploy/nginx.conf is checked with `nginx -t`. Without an installed nginx, unpack Debian's package
# into the venv (about 0.5 MB; no root, no service started); elsewhere that check skips.
NGINX_LOCAL := $(VENV)/nginx/usr/sbin/nginx
.PHONY: nginx-binary
nginx-binary: | $(BIN)/python
	@command -v nginx >/dev/null 2>&1 || [ -x $(NGINX_LOCAL) ] || { \
	  tmp=$$(mktemp -d); \
	  ( cd $$tmp && apt-get download -q nginx ) >/dev/null 2>&1 && dpkg-deb -x $$tmp/nginx_*.deb $(VENV)/nginx; \
	  rm -rf $$tmp; [ -x $(NGINX_LOCAL) ]; } || \
	  echo "nginx 未安装，deploy/nginx.conf 的 nginx -t 检查将跳过（Debian/Ubuntu：apt-get install nginx）"

# The database tests run against a real MySQL-compatible server too. Without an installed mariadbd,
# unpack Debian's server package into the venv (no root, no service, nothing started; the tests
# start a throwaway server in a temp folder); elsewhere those tests skip.
MARIADB_DIR := $(VENV)/mariadb
.PHONY: mariadb-binary
mariadb-binary: | $(BIN)/python
	@command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || [ -x $(MARIADB_DIR)/usr/sbin/mariadbd ] || { \
	  tmp=$$(mktemp -d); \
	  ( cd $$tmp && apt-get download -q mariadb-server-core libaio1 liburing2 ) >/dev/null 2>&1 && \
	  ( for deb in $$tmp/*.deb; do dpkg-deb -x $$deb $$tmp/root || exit 1; done ) && \
	  rm -rf $$tmp/root/usr/bin $$tmp/root/usr/share/doc $$tmp/root/usr/share/man $$tmp/root/usr/share/mysql/*.sql && \
	  LD_LIBRARY_PATH=$$(echo $$tmp/root/usr/lib/*-linux-gnu) $$tmp/root/usr/sbin/mariadbd --version >/dev/null 2>&1 && \
	  rm -rf $(MARIADB_DIR) && mv $$tmp/root $(MARIADB_DIR); \
	  status=$$?; rm -rf $$tmp; [ $$status = 0 ]; } || \
	  echo "mariadbd 未安装，数据库的 MariaDB 测试将跳过（Debian/Ubuntu：apt-get install mariadb-server）"

# The shared rate-limit tests need a real Redis; install Debian's where we can, else they skip.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get install -y -q redis-server >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q redis-server >/dev/null 2>&1; }; }; } || \
	  echo "redis-server 未安装，Redis 限流测试将跳过（Debian/Ubuntu：sudo apt-get install redis-server）"

# Pictures of the two pages for the docs (not part of `make test`): the real page code rendered in
# headless Chromium at 375 px into docs/images/*.png, each kept under 150 KB.
.PHONY: screenshots chromium
screenshots: $(NPM_STAMP) $(TEST_STAMP) chromium
	node tools/screenshots/render.js
	$(BIN)/python tools/screenshots/shrink.py docs/images/*.png

# Debian's chromium and a Chinese font: installed when run as root, else how to install them.
chromium:
	@{ command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; } || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    { apt-get install -y -q chromium fonts-noto-cjk >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium fonts-noto-cjk >/dev/null 2>&1; }; }; } || \
	  { echo "需要 Chromium 和中文字体（Debian/Ubuntu：sudo apt-get install chromium fonts-noto-cjk）"; exit 1; }

# One tiny file through the configured bucket (upload, HEAD, read back, delete), in Chinese.
check: $(RUNTIME_STAMP)
	$(BIN)/python -m server.check

# Make the bucket and the upload records agree (docs/operations.md); ARGS="--dry-run" only prints.
reconcile: $(RUNTIME_STAMP)
	$(BIN)/python -m server.reconcile $(ARGS)

bench: $(TEST_STAMP) wrk
	$(BIN)/python -m bench

# The HTTP benches use wrk when present (Debian's package, small); else a Python client.
.PHONY: wrk
wrk:
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get install -y -q wrk >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q wrk >/dev/null 2>&1; }; }; } || echo "wrk 未安装，压测改用 Python 客户端（Debian/Ubuntu：apt-get install wrk）"

clean:
	rm -rf $(VENV) .pytest_cache
