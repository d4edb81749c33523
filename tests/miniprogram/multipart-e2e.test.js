// End to end for large files: utils/multipart.js through the HTTP-doing wx double against the real
// signer and OSS emulator (`python -m server`, local mode). The network dies mid-way, the app
// "restarts" (a new module instance over the same storage, the file picked again) and the upload
// continues: only the parts OSS lacks are sent and the stored object is the file, byte for byte.
// Skips with one line while the server has no /api/multipart.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { createMultipartUploader } = require('../../miniprogram/utils/multipart');
const { STORAGE_KEY } = require('../../miniprogram/utils/resume-store');
const { createWxNetwork, createWxFiles, createWxStorage } = require('./support/wx-double');
const { startLocalKit } = require('./support/local-kit');
const { makeTempDir, pickedFile } = require('./support/files');
const { createUploader } = require('../../miniprogram/utils/uploader');
const { createFileApi } = require('../../miniprogram/utils/files');
const { formatUsage } = require('../../miniprogram/utils/format');

const MiB = 1024 * 1024;

/** POST a JSON body; resolves `{status, json}`. */
function postJson(url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        let json = null;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The object's bytes as the emulator stored them (meta/<hash>.json -> blobs/<id>), or null. */
function storedObject(storageDir, key) {
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.json') && path.basename(dir) === 'meta') {
        const meta = JSON.parse(fs.readFileSync(full, 'utf8'));
        if (meta.key === key) found.push(path.join(path.dirname(dir), 'blobs', meta.blob));
      }
    }
  };
  walk(storageDir);
  return found.length === 1 ? fs.readFileSync(found[0]) : null;
}

function uploaderOver(kit, storage, net) {
  const files = createWxFiles();
  const wx = { request: net.request, getFileSystemManager: files.getFileSystemManager, getAppBaseInfo: files.getAppBaseInfo, ...storage };
  return createMultipartUploader({ wx, baseUrl: kit.base, getToken: null, retries: 1, retryDelayMs: 20, storage });
}

test('25 MiB + 7 bytes: network killed after 3 parts, app restarted, resumed; the stored object is byte-identical', { timeout: 120000 }, async (t) => {
  const kit = await startLocalKit();
  const tmp = makeTempDir();
  try {
    // An empty body: once the route exists it answers 400, never creating anything.
    const probe = await postJson(`${kit.base}/api/multipart`, {});
    if (probe.status === 404 && probe.json && probe.json.error && probe.json.error.code === 'NotFound') {
      t.skip('the server has no /api/multipart yet (POST answers 404 NotFound)');
      return;
    }
    const storage = createWxStorage();
    const file = pickedFile(tmp.dir, '家庭录像.mp4', 25 * MiB + 7);

    const dying = createWxNetwork({ dropAfterPuts: 3 });
    await assert.rejects(uploaderOver(kit, storage, dying).enqueue(file).promise, (err) => {
      assert.equal(err.kind, 'network');
      assert.equal(err.retryable, true);
      return true;
    });
    const [entry] = Object.values(storage.read(STORAGE_KEY));
    assert.equal(entry.size, file.size);
    assert.equal(entry.partCount, Math.ceil(file.size / entry.partSize));
    assert.ok(entry.partCount >= 4, `partSize ${entry.partSize}`);
    const sentBefore = dying.stats.requestLog.filter((r) => r.method === 'PUT' && r.statusCode === 200).length;
    assert.equal(storedObject(kit.storageDir, entry.key), null, 'no object before completion');

    // Restart: the temp path is gone, the same file is picked again under a new one.
    const again = path.join(tmp.dir, `tmp_again_${file.name}`);
    fs.copyFileSync(file.path, again);
    fs.rmSync(file.path);
    const picked = { path: again, name: file.name, size: file.size };
    const net = createWxNetwork();
    const uploader = uploaderOver(kit, storage, net);
    const found = await uploader.findResumable(picked);
    assert.equal(found && found.uploadId, entry.uploadId);
    const { record } = await uploader.enqueue(picked, { resume: found }).promise;

    assert.equal(record.key, entry.key);
    assert.equal(record.size, file.size);
    const resent = net.stats.requestLog.filter((r) => r.method === 'PUT');
    assert.ok(resent.length <= entry.partCount - sentBefore, `${resent.length} parts sent after the restart, ${sentBefore} were held`);
    assert.ok(resent.every((r) => r.statusCode === 200));
    const stored = storedObject(kit.storageDir, record.key);
    assert.ok(stored && stored.equals(file.bytes), 'byte-identical');
    assert.deepEqual(storage.read(STORAGE_KEY), {}, 'nothing left to resume');
  } finally {
    await kit.stop();
    tmp.remove();
  }
});

test('the real server\'s quota: /api/usage as the page shows it, and a large file refused (QuotaExceeded) before any part is sent', { timeout: 60000 }, async () => {
  const kit = await startLocalKit({ env: { USER_QUOTA_BYTES: String(3 * MiB), USER_QUOTA_FILES: '0' } });
  const tmp = makeTempDir();
  try {
    const net = createWxNetwork();
    const files = createFileApi({ wx: net, baseUrl: kit.base, getToken: null });
    await createUploader({ wx: net, baseUrl: kit.base, getToken: null }).enqueue(pickedFile(tmp.dir, 'a.pdf', MiB)).promise;
    const usage = await files.usage();
    assert.deepEqual([usage.usedBytes, usage.fileCount, usage.quotaBytes, usage.quotaFiles], [MiB, 1, 3 * MiB, 0]);
    assert.equal(formatUsage(usage), '已用 1 MB / 3 MB');

    const storage = createWxStorage();
    await assert.rejects(uploaderOver(kit, storage, net).enqueue(pickedFile(tmp.dir, 'big.mp4', 5 * MiB + 1)).promise,
      (err) => err.code === 'QuotaExceeded' && err.statusCode === 403 && !err.retryable);
    assert.equal(net.stats.requestLog.filter((r) => r.method === 'PUT').length, 0, 'no part sent');
    assert.deepEqual(storage.read(STORAGE_KEY) || {}, {});
  } finally {
    await kit.stop();
    tmp.remove();
  }
});
