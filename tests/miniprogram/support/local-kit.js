// The real signer and OSS emulator (`python -m server` in local mode) on free loopback ports.

const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const http = require('node:http');
const { spawn } = require('node:child_process');
const { makeTempDir } = require('./files');

const REPO = path.resolve(__dirname, '../../..');

function pythonBin() {
  const venv = path.join(REPO, '.venv', 'bin', 'python');
  return fs.existsSync(venv) ? venv : 'python3';
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
 * @param {{staleSignatures?: number, env?: Record<string, string>}} [options]
 */
async function startLocalKit(options = {}) {
  const port = await freePort();
  let ossPort = await freePort();
  while (ossPort === port) ossPort = await freePort();
  const storage = makeTempDir('mp-oss-');
  const workDir = makeTempDir('mp-kit-'); // no stray .env is picked up from the checkout
  const args = options.staleSignatures
    ? [path.join(__dirname, 'stale_first_signature.py')]
    : ['-m', 'server'];
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME || workDir.dir,
    LANG: 'C.UTF-8',
    PYTHONPATH: REPO,
    PYTHONDONTWRITEBYTECODE: '1',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOCAL_OSS_PORT: String(ossPort),
    LOCAL_OSS_DIR: storage.dir,
    CREDENTIALS_TYPE: 'local',
    STALE_SIGNATURES: String(options.staleSignatures || 0),
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
      const [signer, oss] = await Promise.all([get(`${base}/healthz`), get(`${ossBase}/`)]);
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

  /** The stored object, read back through the emulator. */
  async function readObject(key) {
    const res = await get(`${ossBase}/${key.split('/').map(encodeURIComponent).join('/')}`);
    return res.status === 200 ? res.body : null;
  }

  return { base, ossBase, storageDir: storage.dir, stop, readObject, output: () => output, pid: child.pid };
}

module.exports = { startLocalKit, freePort };
