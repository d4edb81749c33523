// End to end: the mini-program's upload module, through an HTTP-doing wx double, against the real
// signer and OSS emulator (`python -m server` in local mode) on free loopback ports.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { createUploader } = require('../../miniprogram/utils/uploader');
const { createWxNetwork } = require('./support/wx-double');
const { startLocalKit } = require('./support/local-kit');
const { makeTempDir, pickedFile } = require('./support/files');

const MAX_SIZE = 1024 * 1024;

let kit;
let tmp;

test.before(async () => {
  kit = await startLocalKit({ env: { OSS_MAX_SIZE: String(MAX_SIZE) } });
  tmp = makeTempDir();
});

test.after(async () => {
  if (kit) await kit.stop();
  if (tmp) tmp.remove();
});

function storedKeys(storageDir) {
  const keys = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.json') && full.includes(`${path.sep}meta${path.sep}`)) keys.push(JSON.parse(fs.readFileSync(full, 'utf8')).key);
    }
  };
  walk(storageDir);
  return keys;
}

function uploaderFor(base, wxOptions) {
  const wx = createWxNetwork(wxOptions);
  return { wx, uploader: createUploader({ wx, baseUrl: base, getToken: async () => null }) };
}

test('one upload: the stored bytes equal the picked file', { timeout: 30000 }, async () => {
  const { wx, uploader } = uploaderFor(kit.base);
  const file = pickedFile(tmp.dir, '年度报告 v2.pdf', 300 * 1024);
  const progress = [];
  const result = await uploader.uploadFileToOSS(file, { onProgress: (p) => progress.push(p.progress) });
  assert.equal(result.statusCode, 200);
  assert.equal(result.host, kit.ossBase);
  assert.match(result.key, /\.pdf$/);
  assert.equal(result.retried, false);
  const stored = await kit.readObject(result.key);
  assert.ok(stored && stored.equals(file.bytes), 'stored bytes equal the picked file');
  assert.equal(progress.at(-1), 100);
  assert.ok(progress.length > 2);
  assert.equal(wx.stats.requestUrls[0], `${kit.base}/generate_signature?filename=${encodeURIComponent(file.name)}&size=${file.size}`);
});

test('nine files: at most three in flight, every one stored intact', { timeout: 60000 }, async () => {
  const { wx, uploader } = uploaderFor(kit.base, { chunkDelayMs: 3 });
  const files = Array.from({ length: 9 }, (_, i) => pickedFile(tmp.dir, `photo-${i}.jpg`, 96 * 1024 + i));
  const jobs = files.map((f) => uploader.enqueue(f));
  const results = await Promise.all(jobs.map((j) => j.promise));
  assert.equal(wx.stats.maxUploadsInFlight, 3);
  assert.equal(wx.stats.uploads, 9);
  assert.equal(new Set(results.map((r) => r.key)).size, 9);
  for (const [i, result] of results.entries()) {
    const stored = await kit.readObject(result.key);
    assert.ok(stored && stored.equals(files[i].bytes), `file ${i} stored intact`);
  }
});

test('too large: refused by the signer before any upload', { timeout: 30000 }, async () => {
  const { wx, uploader } = uploaderFor(kit.base);
  const before = storedKeys(kit.storageDir).length;
  await assert.rejects(uploader.uploadFileToOSS(pickedFile(tmp.dir, 'big.mp4', MAX_SIZE + 1)), (err) => {
    assert.equal(err.kind, 'signer');
    assert.equal(err.code, 'FileTooLarge');
    assert.equal(err.statusCode, 413);
    assert.equal(err.message, '文件太大, 超过了允许的上限');
    assert.match(err.detail, new RegExp(String(MAX_SIZE)));
    return true;
  });
  assert.equal(wx.stats.uploads, 0);
  assert.equal(storedKeys(kit.storageDir).length, before);
});

test('extension refused: 415 with a Chinese message, nothing uploaded', { timeout: 30000 }, async () => {
  const { wx, uploader } = uploaderFor(kit.base);
  await assert.rejects(uploader.uploadFileToOSS(pickedFile(tmp.dir, 'setup.exe', 100)), (err) => {
    assert.equal(err.code, 'ExtensionNotAllowed');
    assert.equal(err.statusCode, 415);
    assert.equal(err.message, '不支持上传这种类型的文件');
    return true;
  });
  assert.equal(wx.stats.uploads, 0);
});

test('expired signature: a fresh one is fetched, the retry succeeds', { timeout: 30000 }, async () => {
  const stale = await startLocalKit({ staleSignatures: 1 });
  try {
    const { wx, uploader } = uploaderFor(stale.base);
    const file = pickedFile(tmp.dir, 'late.png', 20 * 1024);
    const result = await uploader.uploadFileToOSS(file);
    assert.equal(result.retried, true);
    assert.equal(wx.stats.requests, 2, 'two signatures');
    assert.equal(wx.stats.uploads, 2, 'two posts');
    const stored = await stale.readObject(result.key);
    assert.ok(stored && stored.equals(file.bytes));
    assert.deepEqual(storedKeys(stale.storageDir), [result.key], 'the refused attempt left nothing');
  } finally {
    await stale.stop();
  }
});

test('OSS answers 403: the message carries the Code and RequestId, after one retry only', { timeout: 30000 }, async () => {
  const stale = await startLocalKit({ staleSignatures: 5 });
  try {
    const { wx, uploader } = uploaderFor(stale.base);
    await assert.rejects(uploader.uploadFileToOSS(pickedFile(tmp.dir, 'late.png', 1024)), (err) => {
      assert.equal(err.kind, 'oss');
      assert.equal(err.statusCode, 403);
      assert.ok(['AccessDenied', 'RequestTimeTooSkewed'].includes(err.code), err.code);
      assert.match(err.requestId, /^[0-9A-Za-z-]{8,}$/);
      assert.match(err.message, /[\u4e00-\u9fa5]/);
      return true;
    });
    assert.equal(wx.stats.uploads, 2);
    assert.deepEqual(storedKeys(stale.storageDir), []);
  } finally {
    await stale.stop();
  }
});

test('abort mid-upload: rejected as 已取消, nothing stored', { timeout: 30000 }, async () => {
  const { uploader } = uploaderFor(kit.base, { chunkDelayMs: 10 });
  const before = storedKeys(kit.storageDir).length;
  let job = null;
  let abortedAt = null;
  job = uploader.enqueue(pickedFile(tmp.dir, 'movie.mp4', 800 * 1024), {
    onProgress: (p) => {
      if (abortedAt === null && p.progress >= 20) {
        abortedAt = p.progress;
        job.abort();
      }
    },
  });
  await assert.rejects(job.promise, (err) => err.kind === 'aborted' && err.message === '已取消');
  assert.ok(abortedAt !== null && abortedAt < 100);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(storedKeys(kit.storageDir).length, before);
});

test('signer down: a network error with 重试', { timeout: 30000 }, async () => {
  const gone = await startLocalKit();
  await gone.stop();
  const { wx, uploader } = uploaderFor(gone.base);
  await assert.rejects(uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.txt', 10)), (err) => {
    assert.equal(err.kind, 'network');
    assert.equal(err.retryable, true);
    assert.match(err.message, /连不上签名服务/);
    assert.match(err.detail, /^request:fail /);
    return true;
  });
  assert.equal(wx.stats.uploads, 0);
});
