// utils/files.js (records, list, delete, open) and utils/file-list.js (pages, URL freshness) against
// the fake signer and fake OSS, through the HTTP-doing wx double.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { createFileApi } = require('../../miniprogram/utils/files');
const { createFileList } = require('../../miniprogram/utils/file-list');
const { UploadError } = require('../../miniprogram/utils/errors');
const { createWxNetwork } = require('./support/wx-double');
const { freshServersEachTest, apiError } = require('./support/fake-servers');

let fake;
let tmp;
freshServersEachTest(test, (env) => ({ fake, tmp } = env));

/** wx with real networking and a scripted openDocument. */
function setup({ getToken = null, now, wxOptions = {}, openFail = null } = {}) {
  const net = createWxNetwork({ downloadDir: tmp.dir, ...wxOptions });
  const opened = [];
  const wx = {
    ...net,
    openDocument(options) {
      opened.push({ ...options, bytes: fs.readFileSync(options.filePath) });
      setImmediate(() => (openFail ? options.fail(openFail) : options.success({ errMsg: 'openDocument:ok' })));
    },
  };
  const api = createFileApi({ wx, baseUrl: fake.base + '/', getToken, now });
  return { api, net, opened };
}

function seed(n, contentType = 'application/pdf') {
  return Array.from({ length: n }, (_, i) => fake.addFile({ name: `f${i + 1}.pdf`, contentType }));
}

test('list: newest first, the URLs, nextCursor, and when the first URL expires', { timeout: 10000 }, async () => {
  seed(3);
  fake.addFile({ name: '照片.png', contentType: 'image/png' });
  const clock = { now: 1_000_000 };
  const { api } = setup({ now: () => clock.now });
  const page = await api.list({ limit: 3 });
  assert.deepEqual(page.files.map((f) => f.name), ['照片.png', 'f3.pdf', 'f2.pdf']);
  assert.equal(fake.received.lists[0].query.get('limit'), '3');
  assert.equal(fake.received.lists[0].query.get('cursor'), null);
  assert.match(page.files[0].thumbnailUrl, /x-oss-process=/);
  assert.equal(page.files[1].thumbnailUrl, undefined);
  assert.equal(page.nextCursor, String(page.files[2].id));
  assert.equal(page.fetchedAt, 1_000_000);
  assert.equal(page.expiresAt, 1_000_000 + 600 * 1000, 'from x-oss-expires');

  const rest = await api.list({ limit: 3, cursor: page.nextCursor });
  assert.deepEqual(rest.files.map((f) => f.name), ['f1.pdf']);
  assert.equal(rest.nextCursor, null);
  assert.equal(fake.received.lists[1].query.get('cursor'), page.nextCursor);

  fake.urlExpiresSeconds = 90;
  assert.equal((await api.list()).expiresAt, 1_000_000 + 90 * 1000);
  assert.equal(fake.received.lists[2].query.get('limit'), '20', 'the default page');
});

test('list: limit kept within 1..100; the server refusing a cursor is a Chinese error', { timeout: 10000 }, async () => {
  const { api } = setup();
  await api.list({ limit: 500 });
  await api.list({ limit: 0.2 });
  assert.deepEqual(fake.received.lists.map((l) => l.query.get('limit')), ['100', '1']);
  await assert.rejects(api.list({ cursor: 'not-a-cursor' }), (err) => {
    assert.ok(err instanceof UploadError);
    assert.equal(err.code, 'InvalidCursor');
    assert.equal(err.statusCode, 400);
    assert.match(err.message, /下拉刷新/);
    return true;
  });
});

test('list: answers that are not a file list are refused, not shown', { timeout: 10000 }, async () => {
  const { api } = setup();
  for (const body of [
    '<html>login portal</html>',
    { files: 'none' },
    { files: [{ id: 1, key: 'k', name: 'a', size: 1 }] }, // no url
    { files: [{ id: 1, key: 'k', name: 'a', size: 1, url: 'javascript:alert(1)' }] },
  ]) {
    fake.list = () => ({ status: 200, json: body });
    await assert.rejects(api.list(), (err) => err.code === 'BadSignerResponse', JSON.stringify(body));
  }
  fake.list = () => apiError(503, 'DatabaseUnavailable');
  await assert.rejects(api.list(), (err) => err.code === 'DatabaseUnavailable' && err.retryable && /数据库/.test(err.message));
});

test('every call sends the token; a 401 logs in again once and repeats', { timeout: 10000 }, async () => {
  seed(1);
  const asked = [];
  const { api } = setup({ getToken: async ({ refresh }) => (asked.push(refresh), refresh ? 'fresh' : 'stale') });
  const list = fake.list;
  fake.list = (q, headers) => (headers.authorization === 'Bearer fresh' ? list(q) : apiError(401, 'Unauthorized'));
  const page = await api.list();
  assert.equal(page.files.length, 1);
  assert.deepEqual(fake.received.lists.map((l) => l.headers.authorization), ['Bearer stale', 'Bearer fresh']);
  const remove = fake.remove;
  fake.remove = (id, headers) => (headers.authorization === 'Bearer fresh' ? remove(id) : apiError(401, 'Unauthorized'));
  assert.equal(await api.remove(page.files[0].id), true);
  assert.deepEqual(fake.received.deletes.map((d) => d.headers.authorization), ['Bearer stale', 'Bearer fresh']);
  assert.deepEqual(asked, [false, true, false, true]);

  fake.list = () => apiError(401, 'Unauthorized');
  await assert.rejects(api.list(), (err) => err.code === 'Unauthorized' && /重新进入小程序/.test(err.message));
});

test('confirm: POST {key} -> the record; unknown keys and bad keys are Chinese errors', { timeout: 10000 }, async () => {
  const { api } = setup();
  fake.objects.set('uploads/a.pdf', { name: 'a.pdf', size: 3, contentType: 'application/pdf', bytes: Buffer.from('abc') });
  const record = await api.confirm('uploads/a.pdf');
  assert.deepEqual(record, { id: 1, key: 'uploads/a.pdf', name: 'a.pdf', size: 3, contentType: 'application/pdf', createdAt: '2026-12-01T10:00:00Z' });
  assert.deepEqual(await api.confirm('uploads/a.pdf'), record, 'idempotent');
  await assert.rejects(api.confirm('uploads/none.pdf'), (err) => err.code === 'ObjectNotFound' && err.statusCode === 404 && !err.retryable);
  await assert.rejects(api.confirm(''), (err) => err.code === 'InvalidKey' && /key 不合法/.test(err.message));
  fake.confirm = () => ({ status: 200, json: { ok: 1 } });
  await assert.rejects(api.confirm('uploads/a.pdf'), (err) => err.code === 'BadSignerResponse');
});

test('remove: 204 -> true; already gone (404 FileNotFound) -> false; other refusals are errors', { timeout: 10000 }, async () => {
  const [file] = seed(1);
  const { api, net } = setup();
  assert.equal(await api.remove(file.id), true);
  assert.equal(net.stats.requestMethods.at(-1), 'DELETE');
  assert.equal(fake.received.deletes[0].id, String(file.id));
  assert.equal(fake.records.length, 0);
  assert.equal(await api.remove(file.id), false);
  fake.remove = () => apiError(503, 'StorageUnavailable');
  await assert.rejects(api.remove(1), (err) => err.code === 'StorageUnavailable' && err.retryable && /连不上存储（OSS）/.test(err.message));
  fake.remove = () => apiError(404, 'NotFound');
  await assert.rejects(api.remove(1), (err) => err.code === 'NotFound');
});

test('openDocument: downloads the presigned URL and opens it with its fileType and the menu', { timeout: 10000 }, async () => {
  fake.addFile({ name: '报价单.XLSX', bytes: Buffer.from('sheet bytes') });
  const { api, opened } = setup();
  const [file] = (await api.list()).files;
  await api.openDocument(file);
  assert.equal(opened.length, 1);
  assert.equal(opened[0].fileType, 'xlsx');
  assert.equal(opened[0].showMenu, true);
  assert.equal(opened[0].bytes.toString(), 'sheet bytes');
  assert.equal(fake.received.downloads.length, 1);
});

test('openDocument: types the viewer cannot open are refused before any download', { timeout: 10000 }, async () => {
  const { api, opened } = setup();
  for (const [name, ext] of [['notes.txt', '.txt'], ['movie.mp4', '.mp4'], ['README', '这种文件']]) {
    await assert.rejects(api.openDocument({ name, url: fake.base + '/obj/x' }), (err) => {
      assert.equal(err.kind, 'local');
      assert.equal(err.code, 'CannotOpen');
      assert.ok(err.message.includes('小程序不能直接打开' + (ext.startsWith('.') ? ' ' + ext + ' 文件' : ext)), err.message);
      assert.match(err.message, /doc、docx、xls、xlsx、ppt、pptx、pdf/);
      return true;
    });
  }
  assert.equal(fake.received.downloads.length, 0);
  assert.equal(opened.length, 0);
});

test('openDocument: an expired link is LinkExpired; a viewer failure and a lost network are Chinese errors', { timeout: 10000 }, async () => {
  fake.addFile({ name: 'a.pdf' });
  const { api } = setup();
  const [file] = (await api.list()).files;
  fake.urlGeneration += 1; // the URL's signature is no longer accepted
  await assert.rejects(api.openDocument(file), (err) => err.code === 'LinkExpired' && err.statusCode === 403 && /已过期/.test(err.message));

  const viewer = setup({ openFail: { errMsg: 'openDocument:fail filetype not supported' } });
  const [fresh] = (await viewer.api.list()).files;
  await assert.rejects(viewer.api.openDocument(fresh), (err) => err.code === 'OpenFailed' && err.detail === 'openDocument:fail filetype not supported' && /没能打开/.test(err.message));

  const offline = setup({ wxOptions: { allowedHosts: ['bucket.example.com', new URL(fake.base).host.replace(/:\d+$/, ':1')] } });
  await assert.rejects(offline.api.openDocument(fresh), (err) => err.kind === 'domain' && /downloadFile合法域名/.test(err.message));
});

test('a base library without openDocument: a message, no crash', { timeout: 10000 }, async () => {
  const net = createWxNetwork({ downloadDir: tmp.dir });
  const api = createFileApi({ wx: { request: net.request }, baseUrl: fake.base });
  await assert.rejects(api.openDocument({ name: 'a.pdf', url: fake.base + '/obj/a' }), (err) => err.code === 'Unsupported' && /升级微信/.test(err.message));
});

// utils/file-list.js

/** A file list (pages of 2) over the fake, with a clock the test moves. */
function clockedList() {
  const clock = { now: 0 };
  const { api } = setup({ now: () => clock.now });
  return { clock, list: createFileList({ api, pageSize: 2, now: () => clock.now }) };
}

test('file list: first page, more by cursor (no duplicates), pull-to-refresh starts over', { timeout: 10000 }, async () => {
  seed(5);
  const { list } = clockedList();
  let snap = await list.reload();
  assert.deepEqual(snap.files.map((f) => f.name), ['f5.pdf', 'f4.pdf']);
  assert.equal(snap.hasMore, true);
  fake.addFile({ name: 'new.pdf' }); // keyset pages stay stable while files are added
  snap = await list.loadMore();
  assert.deepEqual(snap.files.map((f) => f.name), ['f5.pdf', 'f4.pdf', 'f3.pdf', 'f2.pdf']);
  snap = await list.loadMore();
  assert.deepEqual(snap.files.map((f) => f.name), ['f5.pdf', 'f4.pdf', 'f3.pdf', 'f2.pdf', 'f1.pdf']);
  assert.equal(snap.hasMore, false);
  const before = fake.received.lists.length;
  assert.equal((await list.loadMore()).files.length, 5, 'nothing more to load');
  assert.equal(fake.received.lists.length, before, 'and nothing asked');
  snap = await list.reload();
  assert.deepEqual(snap.files.map((f) => f.name), ['new.pdf', 'f5.pdf']);
  snap = await list.reload({ keepCount: true });
  assert.equal(fake.received.lists.at(-1).query.get('limit'), '2');
});

test('file list: URLs about to expire are fetched again before use, as many as are shown', { timeout: 10000 }, async () => {
  seed(5);
  const { clock, list } = clockedList();
  await list.reload();
  await list.loadMore();
  clock.now = 300 * 1000;
  const asked = fake.received.lists.length;
  assert.equal((await list.fresh()).files.length, 4);
  assert.equal(fake.received.lists.length, asked, 'still fresh: nothing fetched');

  clock.now = (600 - 60) * 1000; // one minute before the 600 s URLs expire
  fake.urlGeneration += 1;
  const snap = await list.fresh();
  assert.equal(fake.received.lists.length, asked + 1);
  assert.equal(fake.received.lists.at(-1).query.get('limit'), '4', 'the four shown, in one request');
  assert.deepEqual(snap.files.map((f) => f.name), ['f5.pdf', 'f4.pdf', 'f3.pdf', 'f2.pdf']);
  assert.ok(snap.files.every((f) => f.url.endsWith('gen2')), 'every URL is new');
  clock.now += 1000;
  await list.fresh();
  assert.equal(fake.received.lists.length, asked + 1, 'fresh again after the refetch');
});

test('file list: short-lived URLs keep half their lifetime as the margin', { timeout: 10000 }, async () => {
  seed(1);
  fake.urlExpiresSeconds = 60;
  const { clock, list } = clockedList();
  await list.reload();
  clock.now = 29 * 1000;
  await list.fresh();
  assert.equal(fake.received.lists.length, 1);
  clock.now = 30 * 1000;
  await list.fresh();
  assert.equal(fake.received.lists.length, 2);
});

test('file list: a reload wins over a page still loading; drop forgets a deleted file', { timeout: 10000 }, async () => {
  seed(4);
  const { list } = clockedList();
  await list.reload();
  const pages = fake.list;
  let release;
  fake.list = (q) => (q.get('cursor') ? new Promise((resolve) => (release = () => resolve(pages(q)))) : pages(q));
  const more = list.loadMore();
  while (!release) await new Promise((r) => setTimeout(r, 5));
  const reloaded = await list.reload();
  release();
  await more;
  assert.deepEqual(list.snapshot().files.map((f) => f.name), reloaded.files.map((f) => f.name), 'the late page was dropped');
  assert.deepEqual(list.drop(reloaded.files[0].id).files.map((f) => f.name), ['f3.pdf']);
});

test('file list: a failed load leaves what was shown', { timeout: 10000 }, async () => {
  seed(2);
  const { list } = clockedList();
  await list.reload();
  fake.list = () => ({ drop: true });
  await assert.rejects(list.reload(), (err) => err.kind === 'network' && err.retryable);
  assert.equal(list.snapshot().files.length, 2);
  assert.equal(list.snapshot().loaded, true);
});
