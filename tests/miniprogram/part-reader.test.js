// Reading slices of a picked file: the base library check, slice reads, the content fingerprint.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { canReadSlices, compareVersion, readSlice, fingerprint, SAMPLE_BYTES } = require('../../miniprogram/utils/part-reader');
const { createWxFiles } = require('./support/wx-double');
const { makeTempDir, pickedFile } = require('./support/files');

let tmp;
test.beforeEach(() => (tmp = makeTempDir()));
test.afterEach(() => tmp.remove());

test('versions compare by number, not as strings; 2.10.0 is the first that reads slices', () => {
  assert.equal(compareVersion('2.10.0', '2.9.9'), 1);
  assert.equal(compareVersion('2.10', '2.10.0'), 0);
  assert.equal(compareVersion('1.11.0', '1.9.9'), 1);
  assert.equal(compareVersion('2.9.4', '2.10.0'), -1);
  const fsm = () => ({ readFile() {} });
  assert.equal(canReadSlices({ getFileSystemManager: fsm, getAppBaseInfo: () => ({ SDKVersion: '2.10.0' }) }), true);
  assert.equal(canReadSlices({ getFileSystemManager: fsm, getAppBaseInfo: () => ({ SDKVersion: '2.9.4' }) }), false);
  assert.equal(canReadSlices({ getFileSystemManager: fsm, getSystemInfoSync: () => ({ SDKVersion: '2.19.0' }) }), true, 'before getAppBaseInfo (2.20.1)');
  assert.equal(canReadSlices({ getFileSystemManager: fsm }), false, 'unknown version: the strict reading');
  assert.equal(canReadSlices({ getFileSystemManager: fsm, getAppBaseInfo: () => { throw new Error('x'); } }), false);
  assert.equal(canReadSlices({ getAppBaseInfo: () => ({ SDKVersion: '3.0.0' }) }), false, 'no FileSystemManager');
});

test('readSlice returns exactly the bytes asked for; a short or failed read is a Chinese error', async () => {
  const files = createWxFiles();
  const reader = files.getFileSystemManager();
  const file = pickedFile(tmp.dir, 'a.bin', 300 * 1024 + 5);
  const slice = await readSlice(reader, file.path, 100 * 1024, 200 * 1024 + 5);
  assert.ok(Buffer.from(slice).equals(file.bytes.subarray(100 * 1024)));
  assert.deepEqual(files.stats.reads, [{ position: 100 * 1024, length: 200 * 1024 + 5, bytes: 200 * 1024 + 5 }]);
  // An old client ignores position/length and hands back the whole file: refused, not used.
  const old = createWxFiles({ sdkVersion: '2.9.0' }).getFileSystemManager();
  await assert.rejects(readSlice(old, file.path, 0, 1024), (err) => err.code === 'FileChanged' && /文件在上传过程中变了/.test(err.message));
  await assert.rejects(readSlice(reader, file.path, file.size, 1), (err) => err.code === 'ReadFailed' && /out of range/.test(err.detail));
  fs.rmSync(file.path);
  await assert.rejects(readSlice(reader, file.path, 0, 1), (err) => err.kind === 'file' && err.message === '读取文件失败，文件可能已被清理，请重新选择文件');
});

test('fingerprint: the size and both ends; equal for a copy, different for other bytes', async () => {
  const files = createWxFiles();
  const reader = files.getFileSystemManager();
  const file = pickedFile(tmp.dir, 'v.mp4', 3 * SAMPLE_BYTES + 1);
  const copy = `${file.path}.copy`;
  fs.copyFileSync(file.path, copy);
  const print = await fingerprint(reader, file);
  assert.equal(await fingerprint(reader, { path: copy, size: file.size }), print);
  assert.deepEqual(files.stats.reads.slice(0, 2).map((r) => [r.position, r.length]), [[0, SAMPLE_BYTES], [2 * SAMPLE_BYTES + 1, SAMPLE_BYTES]]);
  for (const at of [0, file.size - 1]) {
    const changed = Buffer.from(file.bytes);
    changed[at] ^= 1;
    fs.writeFileSync(copy, changed);
    assert.notEqual(await fingerprint(reader, { path: copy, size: file.size }), print, `byte ${at} changed`);
  }
  const small = pickedFile(tmp.dir, 's.txt', 10);
  assert.match(await fingerprint(reader, small), /^10:[0-9a-f]+$/);
});
