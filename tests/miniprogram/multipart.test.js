// Large files in parts (utils/multipart.js) against a fake signer with the /api/multipart routes and
// an in-memory multipart OSS, through the HTTP-doing wx double and a readFile double over real files.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { createMultipartUploader } = require('../../miniprogram/utils/multipart');
const { STORAGE_KEY } = require('../../miniprogram/utils/resume-store');
const { SAMPLE_BYTES } = require('../../miniprogram/utils/part-reader');
const { createWxNetwork, createWxFiles, createWxStorage } = require('./support/wx-double');
const { startFakeServers, ossErrorXml } = require('./support/fake-servers');
const { makeTempDir, pickedFile } = require('./support/files');
const { waitFor } = require('./support/page-env');

const KiB = 1024;
const MiB = 1024 * 1024;
const PART = 128 * KiB;

let fake;
let tmp;

test.beforeEach(async () => {
  fake = await startFakeServers();
  fake.multipart.partSize = PART;
  tmp = makeTempDir();
});

test.afterEach(async () => {
  await fake.close();
  tmp.remove();
});

/**
 * The module as the page wires it, with short retry waits. `storage` survives "app restarts".
 */
function setup(options = {}) {
  const net = createWxNetwork(options.net);
  const files = createWxFiles(options.files);
  const storage = options.storage || createWxStorage();
  const wx = { request: net.request, getFileSystemManager: files.getFileSystemManager, getAppBaseInfo: files.getAppBaseInfo, ...storage };
  const uploader = createMultipartUploader({
    wx,
    baseUrl: fake.base + '/',
    getToken: options.getToken,
    retries: options.retries === undefined ? 2 : options.retries,
    retryDelayMs: options.retryDelayMs === undefined ? 5 : options.retryDelayMs,
    partTimeoutMs: options.partTimeoutMs,
    now: options.now,
    storage,
  });
  return { net, files, storage, uploader };
}

const puts = (net) => net.stats.requestLog.filter((r) => r.method === 'PUT');
const partOf = (entry) => Number(new URL(entry.url).searchParams.get('partNumber'));
const signerPaths = (net) => net.stats.requestLog.filter((r) => r.method !== 'PUT').map((r) => `${r.method} ${new URL(r.url).pathname}`);
const saved = (storage) => Object.values(storage.read(STORAGE_KEY) || {});
const storedParts = (uploadId) => [...fake.multipart.uploads.get(uploadId).parts.keys()].sort((a, b) => a - b);

/** The same bytes under a new temporary path, as when the user picks the file again. */
function pickAgain(file) {
  const again = path.join(tmp.dir, `tmp_again_${Math.random().toString(16).slice(2)}_${file.name}`);
  fs.copyFileSync(file.path, again);
  return { path: again, name: file.name, size: file.size, bytes: file.bytes };
}

test('25 MiB + 7 bytes: 6 parts, 3 at a time, exact signed headers, byte-identical object', { timeout: 30000 }, async () => {
  fake.multipart.partSize = 5 * MiB;
  fake.multipart.putDelayMs = 30;
  const { net, files, storage, uploader } = setup();
  const file = pickedFile(tmp.dir, '旅行 视频.mp4', 25 * MiB + 7);
  const progress = [];
  let started = 0;
  const job = uploader.enqueue(file, { onStart: () => (started += 1), onProgress: (p) => progress.push(p) });
  assert.deepEqual(Object.keys(job).sort(), ['abort', 'id', 'pause', 'promise', 'resume']);
  const result = await job.promise;
  const { record } = result;

  // The same answer as a one-POST upload's: the record is the server's answer to complete.
  assert.deepEqual(result, { key: record.key, host: '', statusCode: 200, retried: false, record, confirmed: false });
  assert.deepEqual(record, fake.records[0]);
  assert.equal(record.key, 'uploads/fake/mp-1-旅行 视频.mp4');
  assert.equal(record.name, file.name);
  assert.equal(record.size, file.size);
  assert.ok(fake.objects.get(record.key).bytes.equals(file.bytes), 'the stored object is the file');
  assert.equal(started, 1);
  assert.deepEqual(fake.received.multipart.creates[0].body, { filename: file.name, size: file.size });
  assert.deepEqual(signerPaths(net), ['POST /api/multipart', 'POST /api/multipart/0004B9895DBBB6EC98E1/parts', 'POST /api/multipart/0004B9895DBBB6EC98E1/complete']);
  assert.deepEqual(fake.received.multipart.presigns[0].body, { partNumbers: [1, 2, 3, 4, 5, 6] }, 'one batch of URLs');

  const sent = puts(net);
  assert.deepEqual(sent.map(partOf).sort(), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(sent.map((p) => p.bodyBytes).sort((a, b) => a - b), [7, 5 * MiB, 5 * MiB, 5 * MiB, 5 * MiB, 5 * MiB]);
  for (const put of sent) {
    assert.deepEqual(put.header, { 'Content-Type': 'application/octet-stream' }, 'exactly the signed headers, no bearer token');
    assert.notEqual(put.dataType, 'json');
    assert.equal(put.responseType, 'text');
    assert.equal(put.timeout, 60000);
  }
  assert.equal(net.stats.maxPutsInFlight, 3);
  assert.equal(fake.multipart.maxPutsInFlight, 3);

  // Memory: slices only, none longer than a part; never more than 3 parts (plus the two samples).
  const partReads = files.stats.reads.filter((r) => r.length > SAMPLE_BYTES || r.length === 7);
  assert.ok(files.stats.reads.every((r) => Number.isInteger(r.position) && r.length >= 1 && r.length <= 5 * MiB));
  assert.equal(partReads.length, 6);
  assert.ok(files.stats.maxHeldBytes <= 3 * 5 * MiB + 2 * SAMPLE_BYTES, `held ${files.stats.maxHeldBytes}`);

  const sentSteps = progress.map((p) => p.totalBytesSent);
  assert.deepEqual(sentSteps, [...sentSteps].sort((a, b) => a - b), 'progress only grows');
  assert.equal(sentSteps[0], 0);
  assert.deepEqual(progress.at(-1), { progress: 100, totalBytesSent: file.size, totalBytesExpectedToSend: file.size });
  assert.ok(sentSteps.slice(1).every((bytes) => bytes % (5 * MiB) === 0 || bytes % (5 * MiB) === 7), 'by whole parts');
  assert.deepEqual(saved(storage), [], 'nothing left to resume');
});

test('a failing part is retried with growing waits; one that keeps failing fails the job, resumably', { timeout: 20000 }, async () => {
  fake.multipart.onPart = ({ partNumber, attempt }) =>
    partNumber === 2 && attempt <= 2 ? { status: 503, body: ossErrorXml('ServiceUnavailable', 'Please reduce your request rate.', 'REQ-503') } : null;
  const { uploader } = setup({ retries: 2, retryDelayMs: 40 });
  const file = pickedFile(tmp.dir, 'a.mov', 5 * PART);
  const { record } = await uploader.enqueue(file).promise;
  assert.ok(fake.objects.get(record.key).bytes.equals(file.bytes));
  const tries = fake.received.multipart.puts.filter((p) => p.partNumber === 2).map((p) => p.at);
  assert.equal(tries.length, 3);
  assert.ok(tries[1] - tries[0] >= 35, `first wait ${tries[1] - tries[0]} ms`);
  assert.ok(tries[2] - tries[1] >= 75, `second wait ${tries[2] - tries[1]} ms (doubled)`);

  fake.multipart.onPart = ({ partNumber }) => (partNumber === 3 ? { status: 503, body: ossErrorXml('ServiceUnavailable', 'busy', 'REQ-503') } : null);
  const { storage, uploader: second } = setup({ retries: 2 });
  const other = pickedFile(tmp.dir, 'b.mov', 5 * PART);
  await assert.rejects(second.enqueue(other).promise, (err) => {
    assert.equal(err.kind, 'oss');
    assert.equal(err.code, 'ServiceUnavailable');
    assert.equal(err.message, 'OSS 暂时不可用，请稍后重试');
    assert.equal(err.requestId, 'REQ-503');
    assert.equal(err.retryable, true);
    return true;
  });
  const uploadId = fake.received.multipart.presigns.at(-1).id;
  assert.equal(fake.received.multipart.puts.filter((p) => p.uploadId === uploadId && p.partNumber === 3).length, 3, 'bounded: 1 + retries');
  assert.deepEqual(saved(storage).map((e) => e.uploadId), [uploadId], 'kept for 继续');
  assert.equal(fake.received.multipart.deletes.length, 0);
});

test('a wrong signature is not retried and says which headers must match', { timeout: 10000 }, async () => {
  fake.multipart.onPart = ({ partNumber }) => (partNumber === 1 ? { status: 403, body: ossErrorXml('SignatureDoesNotMatch', 'The request signature we calculated does not match', 'REQ-SIG') } : null);
  const { uploader } = setup();
  await assert.rejects(uploader.enqueue(pickedFile(tmp.dir, 'a.mp4', 3 * PART)).promise, (err) => {
    assert.equal(err.code, 'SignatureDoesNotMatch');
    assert.match(err.message, /分片签名不匹配.*Content-Type/);
    assert.equal(err.retryable, false);
    return true;
  });
  assert.equal(fake.received.multipart.puts.filter((p) => p.partNumber === 1).length, 1);
  assert.equal(fake.received.multipart.presigns.length, 1);
});

test('an expired part URL is re-requested, not fatal', { timeout: 10000 }, async () => {
  fake.multipart.onPart = ({ partNumber, attempt }) =>
    partNumber === 3 && attempt === 1 ? { status: 403, body: ossErrorXml('AccessDenied', 'Request has expired.', 'REQ-EXP') } : null;
  const heldAtPresign = [];
  fake.multipart.onPresign = () => {
    const [id] = fake.multipart.uploads.keys();
    heldAtPresign.push(storedParts(id));
    return null;
  };
  const { uploader } = setup({ retries: 0 });
  const file = pickedFile(tmp.dir, 'a.mp4', 4 * PART + 1);
  const { record } = await uploader.enqueue(file).promise;
  assert.ok(fake.objects.get(record.key).bytes.equals(file.bytes));
  const batches = fake.received.multipart.presigns.map((p) => p.body.partNumbers);
  assert.equal(batches.length, 2);
  assert.deepEqual(batches[0], [1, 2, 3, 4, 5]);
  assert.equal(batches[1][0], 3, 'the fresh batch starts with the expired part');
  assert.deepEqual(batches[1].filter((n) => heldAtPresign[1].includes(n)), [], 'finished parts are not asked again');
  assert.equal(fake.received.multipart.puts.filter((p) => p.partNumber === 3).length, 2);
});

test('SignatureDoesNotMatch once the URL has passed its expire: a fresh URL; a URL that stays expired: bounded', { timeout: 10000 }, async () => {
  let offset = 0;
  fake.multipart.onPart = ({ partNumber, attempt }) => {
    if (partNumber !== 2 || attempt !== 1) return null;
    offset = 2 * 3600 * 1000; // the phone's clock passes the URL's expire while it is in flight
    return { status: 403, body: ossErrorXml('SignatureDoesNotMatch', 'The request signature we calculated does not match', 'REQ-SIG') };
  };
  const { uploader } = setup({ retries: 0, now: () => Date.now() + offset });
  const file = pickedFile(tmp.dir, 'a.mp4', 3 * PART);
  const { record } = await uploader.enqueue(file).promise;
  assert.ok(fake.objects.get(record.key).bytes.equals(file.bytes));
  assert.ok(fake.received.multipart.presigns.length >= 2);

  // A signer whose URLs are already expired: a couple of fresh ones, then a clear error, no loop.
  fake.multipart.onPart = null;
  fake.multipart.urlTtlMs = -60000;
  const again = setup({ retries: 0 });
  const before = fake.received.multipart.presigns.length;
  await assert.rejects(again.uploader.enqueue(pickedFile(tmp.dir, 'b.mp4', PART + 5)).promise, (err) => {
    assert.equal(err.code, 'AccessDenied');
    assert.equal(err.detail, 'Request has expired.');
    return true;
  });
  assert.ok(fake.received.multipart.presigns.length - before <= 6, 'a bounded number of fresh URLs');
});

test('暂停 stops the parts in flight; 继续 asks what OSS holds and sends only the rest', { timeout: 20000 }, async () => {
  fake.multipart.putDelayMs = 150;
  let paused = 0;
  let pausedAt = 0;
  let progress = 0;
  let job = null;
  // Until the pause, parts 7 and on hang at OSS; the pause comes (past 30%) while one of them has
  // reached OSS, so parts are in flight whatever the machine's load.
  fake.multipart.onPart = ({ partNumber }) => {
    if (partNumber < 7 || pausedAt) return null;
    if (progress >= 30) {
      pausedAt = Date.now();
      job.pause();
    }
    return { hold: true };
  };
  const { net, uploader } = setup();
  const file = pickedFile(tmp.dir, 'long.mp4', 16 * PART + 3);
  job = uploader.enqueue(file, {
    onPause: () => (paused += 1),
    onProgress: (p) => (progress = p.progress),
  });
  await waitFor(() => paused === 1, 'paused');
  assert.ok(Date.now() - pausedAt < 120, 'the parts in flight were stopped, not waited for');
  assert.ok(net.stats.failures.some((f) => f.method === 'PUT' && f.errMsg === 'request:fail abort'));
  const uploadId = fake.received.multipart.creates.length && fake.received.multipart.presigns[0].id;
  const heldAtPause = storedParts(uploadId);
  const putsAtPause = puts(net).length;
  assert.ok(heldAtPause.length >= 5 && heldAtPause.length < 17, `held ${heldAtPause}`);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(puts(net).length, putsAtPause, 'nothing is sent while paused');
  assert.equal(net.stats.putsInFlight, 0);
  assert.deepEqual(uploader.stats(), { active: 0, queued: 0, paused: 1 });
  assert.equal(fake.received.multipart.statuses.length, 0);

  job.resume();
  const { record } = await job.promise;
  assert.ok(fake.objects.get(record.key).bytes.equals(file.bytes));
  assert.equal(fake.received.multipart.statuses.length, 1, '继续 asked the server once');
  const afterResume = puts(net).slice(putsAtPause).map(partOf);
  assert.deepEqual(afterResume.filter((n) => heldAtPause.includes(n)), [], 'no held part is sent again');
  assert.deepEqual([...new Set(afterResume)].sort((a, b) => a - b), Array.from({ length: 17 }, (_, i) => i + 1).filter((n) => !heldAtPause.includes(n)));
  assert.equal(fake.received.multipart.deletes.length, 0);
});

test('the network drops after 6 parts; after an app restart the same file picked again resumes: only missing parts, identical bytes', { timeout: 20000 }, async () => {
  const storage = createWxStorage();
  const first = setup({ net: { dropAfterPuts: 6 }, storage });
  const file = pickedFile(tmp.dir, '会议录像.mp4', 16 * PART + 13);
  await assert.rejects(first.uploader.enqueue(file).promise, (err) => {
    assert.equal(err.kind, 'network');
    assert.equal(err.retryable, true);
    assert.equal(err.message, '网络中断，上传没有完成，请重试');
    assert.match(err.detail, /ERR_INTERNET_DISCONNECTED/);
    return true;
  });
  const [entry] = saved(storage);
  assert.equal(entry.name, file.name);
  assert.equal(entry.size, file.size);
  assert.equal(entry.partSize, PART);
  assert.equal(entry.partCount, 17);
  assert.equal(typeof entry.createdAt, 'number');
  const held = storedParts(entry.uploadId);
  assert.ok(held.length >= 6 && held.length < 17, `held ${held}`);

  // App restart: new module instance, same storage, the temp file is gone and picked again.
  const picked = pickAgain(file);
  fs.rmSync(file.path);
  const second = setup({ storage });
  const found = await second.uploader.findResumable(picked);
  assert.equal(found.uploadId, entry.uploadId);
  const progress = [];
  const { record } = await second.uploader.enqueue(picked, { resume: found, onProgress: (p) => progress.push(p.totalBytesSent) }).promise;

  assert.ok(fake.objects.get(record.key).bytes.equals(file.bytes), 'byte-identical');
  assert.equal(record.key, entry.key);
  const resent = puts(second.net).map(partOf);
  assert.deepEqual(resent.sort((a, b) => a - b), Array.from({ length: 17 }, (_, i) => i + 1).filter((n) => !held.includes(n)));
  assert.equal(progress[0], held.length * PART, 'progress starts from what OSS holds');
  assert.equal(fake.received.multipart.creates.length, 1, 'no new upload');
  assert.deepEqual(saved(storage), []);
});

test('findResumable: same size and content, not a different file of the same name and size', { timeout: 10000 }, async () => {
  const storage = createWxStorage();
  const { uploader } = setup({ net: { dropAfterPuts: 1 }, storage, retries: 0 });
  const file = pickedFile(tmp.dir, 'clip.mp4', 3 * PART);
  await assert.rejects(uploader.enqueue(file).promise);
  const fresh = setup({ storage }).uploader;
  assert.equal((await fresh.findResumable(pickAgain(file))).name, 'clip.mp4');
  // An album video's name is its temporary path's: the content decides.
  assert.equal((await fresh.findResumable({ ...pickAgain(file), name: 'tmp_81c2.mp4' })).uploadId, saved(storage)[0].uploadId);
  assert.equal(await fresh.findResumable(pickedFile(tmp.dir, 'clip.mp4', 3 * PART)), null, 'same name and size, other bytes');
  assert.equal(await fresh.findResumable(pickedFile(tmp.dir, 'clip.mp4', 3 * PART + 1)), null);
});

test('取消 stops the parts in flight and aborts the upload on the server; a queued file never starts', { timeout: 20000 }, async () => {
  fake.multipart.putDelayMs = 25;
  const { net, storage, uploader } = setup();
  let job = null;
  job = uploader.enqueue(pickedFile(tmp.dir, 'a.mp4', 12 * PART), {
    onProgress: (p) => {
      if (p.progress >= 20) job.abort();
    },
  });
  const queued = uploader.enqueue(pickedFile(tmp.dir, 'b.mp4', 12 * PART));
  assert.deepEqual(uploader.stats(), { active: 1, queued: 1, paused: 0 });
  queued.abort();
  await assert.rejects(queued.promise, (err) => err.kind === 'aborted' && err.message === '已取消');
  await assert.rejects(job.promise, (err) => err.kind === 'aborted' && err.message === '已取消');
  const uploadId = fake.received.multipart.presigns[0].id;
  await waitFor(() => fake.received.multipart.deletes.length === 1, 'DELETE /api/multipart/<id>');
  assert.equal(fake.received.multipart.deletes[0].id, uploadId);
  assert.equal(fake.multipart.uploads.size, 0, 'nothing left in OSS');
  const count = puts(net).length;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(puts(net).length, count, 'no part after 取消');
  assert.equal(net.stats.putsInFlight, 0);
  assert.equal(fake.received.multipart.creates.length, 1, 'the queued file was never started');
  assert.deepEqual(saved(storage), []);
});

test('a saved upload the server no longer knows (404 UploadNotFound): starts over', { timeout: 10000 }, async () => {
  const storage = createWxStorage();
  const first = setup({ net: { dropAfterPuts: 2 }, storage, retries: 0 });
  const file = pickedFile(tmp.dir, 'a.mp4', 4 * PART);
  await assert.rejects(first.uploader.enqueue(file).promise);
  const [entry] = saved(storage);
  fake.multipart.uploads.delete(entry.uploadId); // finished, aborted or cleaned up meanwhile

  const second = setup({ storage });
  const found = await second.uploader.findResumable(pickAgain(file));
  const { record } = await second.uploader.enqueue(pickAgain(file), { resume: found }).promise;
  assert.ok(fake.objects.get(record.key).bytes.equals(file.bytes));
  assert.deepEqual(signerPaths(second.net).slice(0, 2), [`GET /api/multipart/${entry.uploadId}`, 'POST /api/multipart']);
  assert.equal(puts(second.net).length, 4, 'every part again');
  assert.deepEqual(saved(storage), []);
});

test('a part lost on the way (409 IncompleteUpload): the server is asked again, that part resent once', { timeout: 10000 }, async () => {
  fake.multipart.onComplete = (id, n) => {
    if (n !== 1) return null;
    fake.multipart.uploads.get(id).parts.delete(2);
    return { status: 409, json: { error: { code: 'IncompleteUpload', message: 'part 2 missing' } } };
  };
  const { net, uploader } = setup();
  const file = pickedFile(tmp.dir, 'a.mp4', 3 * PART + 9);
  const { record } = await uploader.enqueue(file).promise;
  assert.ok(fake.objects.get(record.key).bytes.equals(file.bytes));
  assert.deepEqual(puts(net).map(partOf).filter((n) => n === 2).length, 2);
  assert.equal(fake.received.multipart.completes.length, 2);

  // Twice in a row: reported, not looped.
  fake.multipart.onComplete = () => ({ status: 409, json: { error: { code: 'SizeMismatch', message: 'sizes do not add up' } } });
  await assert.rejects(uploader.enqueue(pickedFile(tmp.dir, 'b.mp4', 2 * PART)).promise, (err) => {
    assert.equal(err.code, 'SizeMismatch');
    assert.equal(err.statusCode, 409);
    assert.equal(err.message, '已上传的分片与文件大小对不上，请重新上传');
    return true;
  });
  assert.equal(fake.received.multipart.completes.length, 4);
});

test('signer refusals become Chinese messages; busy ones are retried first', { timeout: 15000 }, async () => {
  const { net, uploader } = setup({ retries: 1 });
  const cases = [
    [413, 'FileTooLarge', '文件太大，超过了允许的上限', false, 1],
    [415, 'ExtensionNotAllowed', '不支持上传这种类型的文件', false, 1],
    [400, 'InvalidFilename', '文件名不可用', false, 1],
    [503, 'StorageUnavailable', '服务端暂时连不上存储（OSS），请稍后重试', true, 2],
    [503, 'DatabaseUnavailable', '服务端数据库暂时不可用，请稍后重试', true, 2],
  ];
  for (const [status, code, text, retryable, calls] of cases) {
    const before = fake.received.multipart.creates.length;
    fake.multipart.onCreate = () => ({ status, json: { error: { code, message: `server says ${code}` } } });
    await assert.rejects(uploader.enqueue(pickedFile(tmp.dir, 'a.mp4', PART)).promise, (err) => {
      assert.equal(err.kind, 'signer');
      assert.equal(err.code, code);
      assert.equal(err.message, text);
      assert.equal(err.retryable, retryable);
      return true;
    });
    assert.equal(fake.received.multipart.creates.length - before, calls, code);
  }
  // An answer that does not add up (partCount does not cover the size) is refused, not trusted.
  fake.multipart.onCreate = () => ({ status: 200, json: { uploadId: 'x', key: 'k', partSize: PART, partCount: 1, expire: '2099-01-01T00:00:00Z' } });
  await assert.rejects(uploader.enqueue(pickedFile(tmp.dir, 'a.mp4', 2 * PART)).promise, (err) => err.code === 'BadSignerResponse');
  fake.multipart.onCreate = null;
  // The upload vanished in between: UploadNotFound on the URLs, and it is forgotten.
  fake.multipart.onPresign = () => ({ status: 404, json: { error: { code: 'UploadNotFound', message: 'gone' } } });
  const lost = setup();
  await assert.rejects(lost.uploader.enqueue(pickedFile(tmp.dir, 'a.mp4', 2 * PART)).promise, (err) => {
    assert.equal(err.code, 'UploadNotFound');
    assert.equal(err.message, '服务端找不到这次分片上传（已完成、已取消或已过期），请重新上传');
    return true;
  });
  assert.deepEqual(saved(lost.storage), []);
  assert.equal(puts(net).length, 0);
  // Its key taken meanwhile (the server completes with forbid-overwrite): also forgotten.
  fake.multipart.onPresign = null;
  fake.multipart.onComplete = () => ({ status: 409, json: { error: { code: 'ObjectExists', message: '这个对象名已被占用' } } });
  const taken = setup();
  await assert.rejects(taken.uploader.enqueue(pickedFile(tmp.dir, 'a.mp4', 2 * PART)).promise, (err) => {
    assert.equal(err.code, 'ObjectExists');
    assert.equal(err.message, '这个文件名在存储中已被占用，请重新上传');
    return true;
  });
  assert.deepEqual(saved(taken.storage), []);
});

test('401: one fresh login, then the same call again', { timeout: 10000 }, async () => {
  const calls = [];
  let token = 'stale-token';
  const getToken = async ({ refresh }) => {
    calls.push(refresh);
    if (refresh) token = 'fresh-token';
    return token;
  };
  fake.multipart.auth = (headers) => headers.authorization === 'Bearer fresh-token';
  const { net, uploader } = setup({ getToken });
  const file = pickedFile(tmp.dir, 'a.mp4', 2 * PART);
  const { record } = await uploader.enqueue(file).promise;
  assert.ok(fake.objects.get(record.key).bytes.equals(file.bytes));
  assert.deepEqual(calls.slice(0, 2), [false, true]);
  assert.ok(calls.slice(2).every((refresh) => refresh === false), 'only one refresh');
  const signerCalls = net.stats.requestLog.filter((r) => r.method !== 'PUT');
  assert.deepEqual(signerCalls.map((r) => r.header.Authorization), ['Bearer stale-token', 'Bearer fresh-token', 'Bearer fresh-token', 'Bearer fresh-token']);
  assert.ok(puts(net).every((p) => !('Authorization' in p.header)));

  fake.multipart.auth = () => false;
  await assert.rejects(uploader.enqueue(pickedFile(tmp.dir, 'b.mp4', PART)).promise, (err) => err.code === 'Unauthorized' && err.message === '登录已失效，请重新进入小程序后再试');
});

test('base library older than 2.10.0: refused in Chinese before any request or read', { timeout: 10000 }, async () => {
  const { net, files, uploader } = setup({ files: { sdkVersion: '2.9.4' } });
  const file = pickedFile(tmp.dir, 'a.mp4', 2 * PART);
  await assert.rejects(uploader.enqueue(file).promise, (err) => {
    assert.equal(err.kind, 'file');
    assert.equal(err.code, 'OldBaseLibrary');
    assert.match(err.message, /基础库低于 2\.10\.0/);
    assert.equal(err.retryable, false);
    return true;
  });
  assert.equal(await uploader.findResumable(file), null);
  assert.equal(net.stats.requests, 0);
  assert.equal(files.stats.reads.length, 0);
});

test('a picked file that vanished, and an OSS host outside request合法域名, are explained', { timeout: 10000 }, async () => {
  const { uploader } = setup();
  const file = pickedFile(tmp.dir, 'a.mp4', 2 * PART);
  fs.rmSync(file.path);
  await assert.rejects(uploader.enqueue(file).promise, (err) => {
    assert.equal(err.kind, 'file');
    assert.equal(err.code, 'ReadFailed');
    assert.equal(err.message, '读取文件失败，文件可能已被清理，请重新选择文件');
    assert.match(err.detail, /no such file/);
    return true;
  });

  fake.multipart.onPresign = (body) => ({
    status: 200,
    json: { parts: body.partNumbers.map((n) => ({ partNumber: n, url: `https://bucket.oss-cn-hangzhou.aliyuncs.com/k?partNumber=${n}`, headers: { 'Content-Type': 'application/octet-stream' } })), expire: new Date(Date.now() + 60000).toISOString() },
  });
  const listed = setup({ net: { allowedHosts: [new URL(fake.base).host] } });
  await assert.rejects(listed.uploader.enqueue(pickedFile(tmp.dir, 'b.mp4', 2 * PART)).promise, (err) => {
    assert.equal(err.kind, 'domain');
    assert.match(err.message, /https:\/\/bucket\.oss-cn-hangzhou\.aliyuncs\.com 不在小程序的合法域名列表中/);
    assert.match(err.message, /request合法域名/);
    assert.ok(!err.message.includes('partNumber'), 'the URL itself is never shown');
    return true;
  });
});

test('a part that times out narrows the upload to fewer parts at once', { timeout: 15000 }, async () => {
  fake.multipart.putDelayMs = 20;
  fake.multipart.onPart = ({ partNumber, attempt }) => (partNumber === 1 && attempt === 1 ? { hold: true } : null);
  const { net, uploader } = setup({ partTimeoutMs: 300 });
  const file = pickedFile(tmp.dir, 'a.mp4', 60 * PART);
  const { record } = await uploader.enqueue(file).promise;
  assert.ok(fake.objects.get(record.key).bytes.equals(file.bytes));
  const timedOut = net.stats.failures.find((f) => f.errMsg === 'request:fail timeout');
  assert.ok(timedOut, 'part 1 timed out');
  // The parts already in flight finish; from then on at most 2 go at once.
  const later = puts(net).filter((p) => p.startedAt > timedOut.at + 100);
  assert.ok(later.length > 5, `${later.length} parts after the timeout`);
  assert.ok(later.every((p) => p.putsInFlightAtStart <= 2), `in flight after the timeout: ${later.map((p) => p.putsInFlightAtStart)}`);
});

// The server's side of concurrent completes, quotas and signed part sizes.

test('409 CompleteInProgress: waits Retry-After and calls complete again (a few times), then takes the record', { timeout: 20000 }, async () => {
  const { uploader } = setup();
  const file = pickedFile(tmp.dir, 'a.mp4', 2 * PART + 1);
  const at = [];
  fake.multipart.onComplete = (id, attempt) => {
    at.push(Date.now());
    if (attempt === 1) return { status: 409, json: { error: { code: 'CompleteInProgress', message: 'busy' } }, headers: { 'Retry-After': '1' } };
    if (attempt === 2) return { status: 409, json: { error: { code: 'CompleteInProgress', message: 'busy' } }, headers: { 'Retry-After': '0' } };
    return null;
  };
  const { record } = await uploader.enqueue(file).promise;
  assert.equal(at.length, 3);
  assert.ok(at[1] - at[0] >= 950, `waited the Retry-After second: ${at[1] - at[0]} ms`);
  assert.ok(fake.objects.get(record.key).bytes.equals(file.bytes));

  // Bounded: a completion that never ends is reported, not waited for forever.
  fake.multipart.onComplete = () => ({ status: 409, json: { error: { code: 'CompleteInProgress', message: 'busy' } }, headers: { 'Retry-After': '0' } });
  const before = fake.received.multipart.completes.length;
  await assert.rejects(uploader.enqueue(pickedFile(tmp.dir, 'b.mp4', PART + 1)).promise, (err) => err.code === 'CompleteInProgress' && err.retryable);
  assert.equal(fake.received.multipart.completes.length - before, 5);
});

test('403 QuotaExceeded on POST /api/multipart: refused before any part is sent, nothing saved for a resume', { timeout: 10000 }, async () => {
  const { net, storage, uploader } = setup();
  fake.multipart.onCreate = () => ({ status: 403, json: { error: { code: 'QuotaExceeded', message: 'quota' } } });
  await assert.rejects(uploader.enqueue(pickedFile(tmp.dir, 'big.mp4', 4 * PART)).promise, (err) => err.code === 'QuotaExceeded' && !err.retryable);
  assert.equal(puts(net).length, 0);
  assert.equal(fake.received.multipart.presigns.length, 0);
  assert.deepEqual(saved(storage), []);
});

test('each part is sent with exactly the signed size; a part whose bytes differ from `size` fails before sending; no `size` (older servers) is not checked', { timeout: 15000 }, async () => {
  const { net, uploader } = setup();
  const file = pickedFile(tmp.dir, 'a.mp4', 3 * PART + 7);
  const { record } = await uploader.enqueue(file).promise;
  assert.ok(fake.objects.get(record.key).bytes.equals(file.bytes), 'the fake OSS accepts only the signed length');
  assert.deepEqual(fake.received.multipart.puts.map((p) => p.bytes).sort((a, b) => a - b), [7, PART, PART, PART]);

  // A server that cut the file differently from what the phone read: refused, never sent.
  const sent = puts(net).length;
  const wrong = pickedFile(tmp.dir, 'b.mp4', 2 * PART);
  const job = uploader.enqueue(wrong);
  // Every URL claims one byte more than the part the phone reads.
  fake.multipart.onPresign = (body) => {
    const id = fake.received.multipart.presigns.at(-1).id;
    const expire = new Date(Date.now() + 60000).toISOString();
    return { status: 200, json: { parts: body.partNumbers.map((n) => ({ partNumber: n, url: `${fake.base}/mp-oss/x?partNumber=${n}&uploadId=${id}`, headers: {}, size: PART + 1 })), expire } };
  };
  await assert.rejects(job.promise, (err) => err.code === 'PartSizeMismatch' && err.kind === 'file' && !err.retryable && /大小不一致/.test(err.message));
  assert.equal(puts(net).length, sent, 'no byte went out');
  fake.multipart.onPresign = null;

  fake.multipart.sendSize = false;
  const old = pickedFile(tmp.dir, 'c.mp4', PART + 3);
  const done = await uploader.enqueue(old).promise;
  assert.ok(fake.objects.get(done.record.key).bytes.equals(old.bytes));
});
