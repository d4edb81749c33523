// The real signer and OSS emulator (`python -m server` in local mode) on free loopback ports, and
// the WeChat login stand-in (tests/fake_wechat.py) it can be pointed at to turn login on.

const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const http = require('node:http');
const { spawn } = require('node:child_process');
const { makeTempDir } = require('./files');

const REPO = path.resolve(__dirname, '../../..');

/**
 * The repo's venv interpreter, else the one on PATH (Windows venvs keep it in Scripts\python.exe,
 * and Windows installs name it `python`).
 * @param {string} [platform]
 * @param {(file: string) => boolean} [exists]
 */
function pythonBin(platform = process.platform, exists = fs.existsSync) {
  const windows = platform === 'win32';
  const venv = windows
    ? path.win32.join(REPO, '.venv', 'Scripts', 'python.exe')
    : path.posix.join(REPO, '.venv', 'bin', 'python');
  if (exists(venv)) return venv;
  return windows ? 'python' : 'python3';
}

/**
 * The environment every child starts from. Python on Windows needs SYSTEMROOT to open sockets.
 * @param {NodeJS.ProcessEnv} [from]
 * @param {string} [platform]
 * @returns {Record<string, string | undefined>}
 */
function baseEnv(from = process.env, platform = process.platform) {
  const env = { PATH: from.PATH };
  if (platform === 'win32' && from.SYSTEMROOT) return { ...env, SYSTEMROOT: from.SYSTEMROOT };
  return env;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function get(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * tests/fake_wechat.py on a free port: codes `code-<name>` log in as openid `openid-<name>`.
 * @returns {Promise<{base: string, appid: string, secret: string, stop: () => Promise<void>}>}
 */
function startFakeWeChat() {
  const child = spawn(pythonBin(), ['-m', 'tests.fake_wechat'], {
    cwd: REPO,
    env: { ...baseEnv(), LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fake_wechat.py printed no address in 10 s:\n${output}`));
    }, 10000);
    child.stderr.on('data', (c) => (output += c));
    child.stdout.on('data', (c) => {
      output += c;
      const match = /^(http:\/\/127\.0\.0\.1:\d+)\s*$/m.exec(output);
      if (!match) return;
      clearTimeout(timer);
      resolve({ base: match[1], appid: 'wx-fake-appid', secret: 'wx-fake-app-secret', stop });
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fake_wechat.py exited with ${code}:\n${output}`));
    });
  });
}

/**
 * @param {{staleSignatures?: number, wechat?: {base: string, appid: string, secret: string},
 *   secretKey?: string, env?: Record<string, string>}} [options]
 *   `wechat` turns login on, against that stand-in, with `secretKey` signing the tokens.
 */
async function startLocalKit(options = {}) {
  const port = await freePort();
  let ossPort = await freePort();
  while (ossPort === port) ossPort = await freePort();
  const storage = makeTempDir('mp-oss-');
  const workDir = makeTempDir('mp-kit-'); // no stray .env is picked up from the checkout
  const secretKey = options.wechat ? options.secretKey || 'mp-e2e-secret-key-0123456789abcdef' : '';
  const login = options.wechat
    ? { WECHAT_APPID: options.wechat.appid, WECHAT_APP_SECRET: options.wechat.secret, WECHAT_API_BASE: options.wechat.base, SECRET_KEY: secretKey }
    : {};
  const args = options.staleSignatures
    ? [path.join(__dirname, 'stale_first_signature.py')]
    : ['-m', 'server'];
  const env = {
    ...baseEnv(),
    HOME: process.env.HOME || workDir.dir,
    LANG: 'C.UTF-8',
    PYTHONPATH: REPO,
    PYTHONDONTWRITEBYTECODE: '1',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOCAL_OSS_PORT: String(ossPort),
    LOCAL_OSS_DIR: storage.dir,
    // Upload records in this run's own SQLite file, never the checkout's instance/uploads.sqlite3.
    DATABASE_URL: `sqlite:///${path.join(workDir.dir, 'uploads.sqlite3')}`,
    CREDENTIALS_TYPE: 'local',
    STALE_SIGNATURES: String(options.staleSignatures || 0),
    // All tests share one user (and 127.0.0.1): the default 30 signatures / 10 logins per minute
    // would turn a nine-file batch plus the rest of the suite into 429s.
    SIGN_RATE_LIMIT: '1000/minute',
    LOGIN_RATE_LIMIT: '1000/minute',
    ...login,
    ...(options.env || {}),
  };
  const child = spawn(pythonBin(), args, { cwd: workDir.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  let exited = null;
  child.on('exit', (code) => (exited = code));

  const base = `http://127.0.0.1:${port}`;
  const ossBase = `http://127.0.0.1:${ossPort}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    if (exited !== null) throw new Error(`python -m server exited with ${exited}:\n${output}`);
    try {
      const [signer, oss] = await Promise.all([get(`${base}/healthz`), get(`${ossBase}/-/console`)]);
      if (signer.status === 200 && oss.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`python -m server did not come up in 20 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  async function stop() {
    if (exited === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    }
    storage.remove();
    workDir.remove();
  }

  /**
   * The stored object's bytes, or null. Read from the emulator's folder (meta/<sha256(key)>.json
   * names the blob), so it works whether or not the bucket lets anonymous reads through.
   */
  async function readObject(key) {
    const metaName = `${crypto.createHash('sha256').update(key, 'utf8').digest('hex')}.json`;
    const find = (dir) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          const found = find(full);
          if (found) return found;
        } else if (entry.name === metaName && path.basename(dir) === 'meta') {
          return full;
        }
      }
      return null;
    };
    const meta = find(storage.dir);
    if (!meta) return null;
    const { blob } = JSON.parse(fs.readFileSync(meta, 'utf8'));
    const blobPath = path.join(path.dirname(path.dirname(meta)), 'blobs', blob);
    return fs.existsSync(blobPath) ? fs.readFileSync(blobPath) : null;
  }

  return { base, ossBase, storageDir: storage.dir, secretKey, stop, readObject, output: () => output, pid: child.pid };
}

module.exports = { startLocalKit, startFakeWeChat, freePort, pythonBin, baseEnv, get };
