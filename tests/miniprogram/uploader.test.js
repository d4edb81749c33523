// The upload module against a scripted signer and a fake OSS, through the HTTP-doing wx double.

const test = require('node:test');
const assert = require('node:assert/strict');
const { createUploader } = require('../../miniprogram/utils/uploader');
const { UploadError } = require('../../miniprogram/utils/errors');
const { createWxNetwork } = require('./support/wx-double');
const { freshServersEachTest, ossErrorXml, callbackFailedXml, apiError } = require('./support/fake-servers');
const { pickedFile } = require('./support/files');

let fake;
let tmp;
freshServersEachTest(test, (env) => ({ fake, tmp } = env));

function setup(options = {}) {
  const wx = createWxNetwork(options.wx);
  const uploader = createUploader({ wx, baseUrl: fake.base + '/', getToken: options.getToken });
  return { wx, uploader };
}

test('posts formData exactly as signed, fields first, the file last under "file"', { timeout: 10000 }, async () => {
  const { uploader } = setup();
  const file = pickedFile(tmp.dir, '报告 1.pdf', 40000);
  const progress = [];
  const result = await uploader.uploadFileToOSS(file, { onProgress: (p) => progress.push(p) });

  assert.equal(result.key, 'uploads/fake/1-报告 1.pdf');
  assert.equal(result.statusCode, 200);
  const query = fake.received.signatures[0].query;
  assert.equal(query.get('filename'), '报告 1.pdf');
  assert.equal(query.get('size'), '40000');
  const parts = fake.received.uploads[0].parts;
  assert.deepEqual(parts.map((p) => p.name), ['key', 'policy', 'success_action_status', 'x-oss-signature', 'file']);
  assert.equal(parts[1].data.toString(), 'policy-1');
  assert.ok(parts[4].data.equals(file.bytes));
  assert.ok(progress.length >= 2, 'several progress events');
  assert.equal(progress[progress.length - 1].progress, 100);
  assert.ok(progress.every((p, i) => i === 0 || p.totalBytesSent >= progress[i - 1].totalBytesSent));
});

test('204 is success too; any other status is a failure even though wx calls success', { timeout: 10000 }, async () => {
  const { uploader } = setup();
  const file = pickedFile(tmp.dir, 'a.txt', 10);
  fake.oss = () => ({ status: 204 });
  assert.equal((await uploader.uploadFileToOSS(file)).statusCode, 204);
  for (const status of [201, 302, 500]) {
    fake.oss = () => ({ status, body: '' });
    await assert.rejects(uploader.uploadFileToOSS(file), (err) => err instanceof UploadError && err.kind === 'oss' && err.statusCode === status);
  }
});

test('an OSS 403 carries its Code, RequestId and a Chinese message', { timeout: 10000 }, async () => {
  const { uploader } = setup();
  fake.oss = () => ({ status: 403, body: ossErrorXml('SignatureDoesNotMatch', 'The request signature we calculated does not match', 'REQ-403') });
  await assert.rejects(uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.png', 100)), (err) => {
    assert.equal(err.kind, 'oss');
    assert.equal(err.code, 'SignatureDoesNotMatch');
    assert.equal(err.requestId, 'REQ-403');
    assert.equal(err.statusCode, 403);
    assert.match(err.message, /签名不匹配/);
    assert.equal(err.retryable, false);
    return true;
  });
  assert.equal(fake.received.uploads.length, 1, 'no automatic retry for a bad signature');
});

for (const [label, code, message] of [
  ['an expired policy', 'AccessDenied', 'Invalid according to Policy: Policy expired.'],
  ['clock skew', 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.'],
  ['an expired security token', 'SecurityTokenExpired', 'The security token you provided has expired.'],
]) {
  test(`${label} gets a fresh signature and one retry`, { timeout: 10000 }, async () => {
    const { uploader } = setup();
    fake.oss = (upload, n) => (n === 1 ? { status: 403, body: ossErrorXml(code, message, 'REQ-1') } : { status: 200 });
    const result = await uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.jpg', 1000));
    assert.equal(result.retried, true);
    assert.equal(result.key, 'uploads/fake/2-a.jpg', 'the key of the fresh signature');
    assert.equal(fake.received.signatures.length, 2);
    const policies = fake.received.uploads.map((u) => u.parts.find((p) => p.name === 'policy').data.toString());
    assert.deepEqual(policies, ['policy-1', 'policy-2']);
  });
}

test('retries only once: a second expiry is reported', { timeout: 10000 }, async () => {
  const { uploader } = setup();
  fake.oss = () => ({ status: 403, body: ossErrorXml('AccessDenied', 'Invalid according to Policy: Policy expired.', 'REQ-2') });
  await assert.rejects(uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.jpg', 10)), (err) => err.code === 'AccessDenied' && err.message === '上传签名已过期，请重新上传');
  assert.equal(fake.received.uploads.length, 2);
  assert.equal(fake.received.signatures.length, 2);
});

test('a policy-condition 403 is not retried', { timeout: 10000 }, async () => {
  const { uploader } = setup();
  fake.oss = () => ({ status: 403, body: ossErrorXml('AccessDenied', 'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "x"]', 'R') });
  await assert.rejects(uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.jpg', 10)), (err) => err.code === 'AccessDenied' && /策略/.test(err.message));
  assert.equal(fake.received.uploads.length, 1);
});

test('signer errors become Chinese messages and nothing is uploaded', { timeout: 10000 }, async () => {
  const { uploader } = setup();
  const cases = [
    [400, 'InvalidFilename', '文件名不可用', false],
    [400, 'InvalidSize', '文件大小不对，空文件不能上传', false],
    [413, 'FileTooLarge', '文件太大，超过了允许的上限', false],
    [415, 'ExtensionNotAllowed', '不支持上传这种类型的文件', false],
    [503, 'CredentialsUnavailable', '服务端暂时拿不到上传凭证，请稍后重试', true],
    [429, 'TooManyRequests', '操作太频繁，请稍后再试', true],
  ];
  for (const [status, code, text, retryable] of cases) {
    fake.signer = () => ({ status, json: { error: { code, message: `server says ${code}` } } });
    await assert.rejects(uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.exe', 10)), (err) => {
      assert.equal(err.kind, 'signer');
      assert.equal(err.code, code);
      assert.equal(err.message, text);
      assert.equal(err.detail, `server says ${code}`);
      assert.equal(err.retryable, retryable, code);
      return true;
    });
  }
  fake.signer = () => ({ status: 502, json: '<html>Bad Gateway</html>' });
  await assert.rejects(uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.txt', 10)), (err) => err.code === 'BadSignerResponse' && /HTTP 502/.test(err.message));
  fake.signer = () => ({ status: 200, json: { host: 'javascript:alert(1)', key: 'k', formData: {} } });
  await assert.rejects(uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.txt', 10)), (err) => err.code === 'BadSignerResponse');
  assert.equal(fake.received.uploads.length, 0);
});

test('a file larger than the signed maxSize is refused before upload', { timeout: 10000 }, async () => {
  const { uploader } = setup();
  const base = fake.signer;
  fake.signer = (q, h, n) => {
    const answer = base(q, h, n);
    answer.json.maxSize = 50;
    return answer;
  };
  await assert.rejects(uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.txt', 51)), (err) => err.code === 'FileTooLarge');
  assert.equal(fake.received.uploads.length, 0);
});

test('sends the bearer token, and on 401 logs in again once', { timeout: 10000 }, async () => {
  const calls = [];
  const getToken = async ({ refresh }) => {
    calls.push(refresh);
    return refresh ? 'fresh-token' : 'stale-token';
  };
  const { uploader } = setup({ getToken });
  const base = fake.signer;
  fake.signer = (q, headers, n) =>
    headers.authorization === 'Bearer fresh-token' ? base(q, headers, n) : { status: 401, json: { error: { code: 'Unauthorized', message: '登录已失效，请重新登录' } } };
  fake.oss = () => ({ status: 200, callback: true }); // no confirm call in this test
  await uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.txt', 10));
  assert.deepEqual(calls, [false, true]);
  assert.deepEqual(fake.received.signatures.map((s) => s.headers.authorization), ['Bearer stale-token', 'Bearer fresh-token']);

  // Still 401 after a fresh login: reported, not looped.
  fake.signer = () => ({ status: 401, json: { error: { code: 'Unauthorized', message: 'x' } } });
  await assert.rejects(uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.txt', 10)), (err) => err.code === 'Unauthorized' && err.message === '登录已失效，请重新进入小程序后再试');
  assert.equal(fake.received.signatures.length, 4);
});

test('no token (login off): no Authorization header at all', { timeout: 10000 }, async () => {
  const { uploader } = setup({ getToken: async () => null });
  await uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.txt', 10));
  assert.equal(fake.received.signatures[0].headers.authorization, undefined);
});

test('url not in domain list explains 合法域名 and names the doc page', { timeout: 10000 }, async () => {
  const { uploader } = setup({ wx: { allowedHosts: [new URL(fake.base).host.replace(/:\d+$/, ':1')] } });
  await assert.rejects(uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.txt', 10)), (err) => {
    assert.equal(err.kind, 'domain');
    assert.match(err.message, /request合法域名/);
    assert.match(err.message, /docs\/legal-domain\.md/);
    return true;
  });
  const uploadOnly = setup({ wx: { allowedHosts: [new URL(fake.base).host] } });
  fake.signer = () => ({ status: 200, json: { host: 'https://bucket.oss-cn-hangzhou.aliyuncs.com', key: 'k', maxSize: 100, formData: { key: 'k' } } });
  await assert.rejects(uploadOnly.uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.txt', 10)), (err) => {
    assert.match(err.message, /uploadFile合法域名/);
    assert.match(err.message, /https:\/\/bucket\.oss-cn-hangzhou\.aliyuncs\.com/);
    return true;
  });
});

test('a network failure is retryable', { timeout: 10000 }, async () => {
  const { uploader } = setup();
  const file = pickedFile(tmp.dir, 'a.txt', 10);
  // OSS never answers: the upload times out.
  fake.oss = () => ({ hold: true });
  const wxNet = createWxNetwork({ timeoutMs: 300 });
  const slow = createUploader({ wx: wxNet, baseUrl: fake.base });
  await assert.rejects(slow.uploadFileToOSS(file), (err) => err.kind === 'network' && err.retryable && /上传超时/.test(err.message));

  // The signer is gone: nothing listens on its port any more.
  await fake.close();
  await assert.rejects(uploader.uploadFileToOSS(file), (err) => err.kind === 'network' && err.retryable && /连不上签名服务/.test(err.message));
});

test('nine files: at most three in flight, all stored', { timeout: 20000 }, async () => {
  const { wx, uploader } = setup({ wx: { chunkDelayMs: 5 } });
  const files = Array.from({ length: 9 }, (_, i) => pickedFile(tmp.dir, `f${i}.bin`, 64 * 1024));
  let started = 0;
  const jobs = files.map((f) => uploader.enqueue(f, { onStart: () => (started += 1) }));
  assert.ok(uploader.stats().active <= 3);
  assert.equal(uploader.stats().active + uploader.stats().queued, 9);
  const results = await Promise.all(jobs.map((j) => j.promise));
  assert.equal(results.length, 9);
  assert.equal(started, 9);
  assert.equal(wx.stats.maxUploadsInFlight, 3);
  assert.equal(fake.received.uploads.length, 9);
  assert.deepEqual(uploader.stats(), { active: 0, queued: 0 });
});

test('abort: a queued file never starts, a running one stops mid-upload', { timeout: 20000 }, async () => {
  const { uploader } = setup({ wx: { chunkDelayMs: 20 } });
  const files = Array.from({ length: 4 }, (_, i) => pickedFile(tmp.dir, `f${i}.bin`, 256 * 1024));
  let aborted = false;
  const jobs = [];
  files.forEach((f, i) => {
    jobs.push(
      uploader.enqueue(f, {
        onProgress: (p) => {
          if (i === 0 && !aborted && p.progress >= 10) {
            aborted = true;
            jobs[0].abort();
          }
        },
      })
    );
  });
  jobs[3].abort(); // still queued
  const outcomes = await Promise.allSettled(jobs.map((j) => j.promise));
  assert.equal(outcomes[0].status, 'rejected');
  assert.equal(outcomes[0].reason.kind, 'aborted');
  assert.equal(outcomes[0].reason.message, '已取消');
  assert.equal(outcomes[3].reason.kind, 'aborted');
  assert.equal(outcomes[1].status, 'fulfilled');
  assert.equal(outcomes[2].status, 'fulfilled');
  assert.equal(fake.received.signatures.length, 3, 'the queued file was never signed');
  assert.equal(fake.received.uploads.length, 2, 'the aborted body never completed');
});

// What OSS answers decides where the record comes from (design: callback on -> 200 with the record;
// off -> 200 empty; callback failed -> 203 CallbackFailed, the object stored).

test('callback on: 200 with the record JSON is the result; nothing is confirmed', { timeout: 10000 }, async () => {
  const { uploader } = setup();
  fake.oss = () => ({ status: 200, callback: true });
  const result = await uploader.uploadFileToOSS(pickedFile(tmp.dir, '合同.pdf', 1234));
  assert.deepEqual(result.record, { id: 1, key: result.key, name: '合同.pdf', size: 1234, contentType: 'application/octet-stream', createdAt: '2026-12-01T10:00:00Z' });
  assert.equal(result.confirmed, false);
  assert.equal(fake.received.confirms.length, 0);
});

for (const [label, answer] of [
  ['200 with an empty body (callbacks off)', { status: 200, body: '' }],
  ['204 with an empty body', { status: 204 }],
  ['203 CallbackFailed (stored, the callback failed)', { status: 203, body: callbackFailedXml() }],
  ['200 with JSON that is not a record', { status: 200, json: { ok: true } }],
]) {
  test(`${label}: POST /api/files/confirm {key}, then the record`, { timeout: 10000 }, async () => {
    const { uploader } = setup({ getToken: async () => 'tok' });
    fake.oss = () => answer;
    const result = await uploader.uploadFileToOSS(pickedFile(tmp.dir, 'photo.png', 2048));
    assert.equal(result.statusCode, answer.status);
    assert.equal(result.confirmed, true);
    assert.equal(fake.received.confirms.length, 1);
    const [sent] = fake.received.confirms;
    assert.deepEqual(sent.body, { key: result.key });
    assert.match(sent.headers['content-type'], /^application\/json/);
    assert.equal(sent.headers.authorization, 'Bearer tok');
    assert.equal(result.record.key, result.key);
    assert.equal(result.record.name, 'photo.png');
    assert.equal(result.record.size, 2048);
    assert.equal(fake.received.uploads.length, 1, 'uploaded once');
  });
}

test('a record for another key is not taken: the upload is confirmed', { timeout: 10000 }, async () => {
  const { uploader } = setup();
  fake.oss = () => ({ status: 200, json: { id: 9, key: 'uploads/someone-else.png', name: 'x', size: 1, contentType: 'image/png', createdAt: '2026-12-01T10:00:00Z' } });
  const result = await uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.png', 10));
  assert.equal(result.confirmed, true);
  assert.equal(result.record.key, result.key);
});

test('confirm 503 DatabaseUnavailable: a retryable Chinese error naming the key; confirm() then records it without uploading again', { timeout: 10000 }, async () => {
  const { uploader } = setup();
  const records = fake.confirm;
  fake.confirm = () => apiError(503, 'DatabaseUnavailable', '数据库不可用');
  let caught = null;
  await uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.pdf', 100)).catch((err) => (caught = err));
  assert.ok(caught instanceof UploadError);
  assert.equal(caught.code, 'DatabaseUnavailable');
  assert.equal(caught.statusCode, 503);
  assert.equal(caught.retryable, true);
  assert.equal(caught.message, '文件已存到 OSS，但服务端没能登记这次上传：服务端数据库暂时不可用，请稍后重试');
  assert.equal(caught.detail, '数据库不可用');
  assert.equal(caught.confirmKey, 'uploads/fake/1-a.pdf');

  fake.confirm = records;
  const job = uploader.confirm(caught.confirmKey);
  const result = await job.promise;
  assert.equal(result.key, 'uploads/fake/1-a.pdf');
  assert.equal(result.record.name, 'a.pdf');
  assert.equal(fake.received.uploads.length, 1, 'not uploaded again');
  assert.equal(fake.received.signatures.length, 1, 'not signed again');
  assert.equal(fake.received.confirms.length, 2);
});

test('confirm without an answer (network) is retryable; 404 ObjectNotFound is not', { timeout: 10000 }, async () => {
  const { uploader } = setup();
  fake.confirm = () => ({ drop: true });
  await assert.rejects(uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.txt', 10)), (err) => {
    assert.equal(err.kind, 'network');
    assert.equal(err.retryable, true);
    assert.match(err.message, /^文件已存到 OSS，但服务端没能登记这次上传：连不上签名服务/);
    assert.ok(err.confirmKey);
    return true;
  });
  fake.confirm = () => apiError(404, 'ObjectNotFound', '对象不存在');
  await assert.rejects(uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.txt', 10)), (err) => {
    assert.equal(err.code, 'ObjectNotFound');
    assert.equal(err.retryable, false);
    assert.match(err.message, /OSS 中没有找到这个文件/);
    return true;
  });
});

test('a signer without /api/files/confirm (404 NotFound) keeps no records: the upload stands', { timeout: 10000 }, async () => {
  const { uploader } = setup();
  fake.confirm = () => apiError(404, 'NotFound', '没有这个接口');
  const result = await uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.txt', 10));
  assert.equal(result.record, null);
  assert.equal(result.statusCode, 200);
});

test('confirm gets a 401: one fresh login, then the record', { timeout: 10000 }, async () => {
  const calls = [];
  const { uploader } = setup({ getToken: async ({ refresh }) => (calls.push(refresh), refresh ? 'fresh' : 'stale') });
  const confirm = fake.confirm;
  fake.confirm = (body, headers) => (headers.authorization === 'Bearer fresh' ? confirm(body) : apiError(401, 'Unauthorized'));
  const result = await uploader.uploadFileToOSS(pickedFile(tmp.dir, 'a.txt', 10));
  assert.ok(result.record);
  assert.deepEqual(fake.received.confirms.map((c) => c.headers.authorization), ['Bearer stale', 'Bearer fresh']);
  assert.deepEqual(calls, [false, false, true]);
});

test('abort while confirming: 已取消', { timeout: 10000 }, async () => {
  const { uploader } = setup();
  let answer;
  fake.confirm = () => new Promise((resolve) => (answer = resolve));
  const job = uploader.enqueue(pickedFile(tmp.dir, 'a.txt', 10));
  const deadline = Date.now() + 5000;
  while (!answer && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  job.abort();
  await assert.rejects(job.promise, (err) => err.kind === 'aborted' && err.message === '已取消');
  answer({ status: 503, json: {} });
});

