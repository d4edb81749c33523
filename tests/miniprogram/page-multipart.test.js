// The upload page with large files: they go in parts (暂停/继续/取消), small ones keep the form POST,
// and a file OSS already holds part of is offered 继续上传.

const test = require('node:test');
const assert = require('node:assert/strict');
const { renderPage, waitFor } = require('./support/page-env');
const { pageWx, messageFile } = require('./support/page-wx');
const { createWxNetwork, createWxFiles } = require('./support/wx-double');
const { startFakeServers, apiError } = require('./support/fake-servers');
const { makeTempDir, pickedFile } = require('./support/files');
const { createMultipartUploader } = require('../../miniprogram/utils/multipart');
const config = require('../../miniprogram/config');

const PART = 128 * 1024;
const THRESHOLD = 512 * 1024;

let fake;
let tmp;
const defaults = { threshold: config.multipartThreshold };

test.beforeEach(async () => {
  fake = await startFakeServers();
  fake.multipart.partSize = PART;
  tmp = makeTempDir();
  config.signerBaseUrl = fake.base;
  config.multipartThreshold = THRESHOLD;
});

test.afterEach(async () => {
  config.multipartThreshold = defaults.threshold;
  await fake.close();
  tmp.remove();
});

/** The page's wx plus readFile over real files (base library 3.x). */
function largeFileWx(picks, network) {
  const wx = pageWx(picks, network);
  const files = createWxFiles();
  return Object.assign(wx, { getFileSystemManager: files.getFileSystemManager, getAppBaseInfo: files.getAppBaseInfo });
}

/** An earlier run of the app that lost the network after `puts` parts: its uploadId. */
async function interruptedRun(wx, file, puts) {
  const dying = createWxNetwork({ dropAfterPuts: puts });
  const earlier = createMultipartUploader({ wx: { ...wx, request: dying.request }, baseUrl: fake.base, retries: 0, storage: wx });
  await assert.rejects(earlier.enqueue(file).promise);
  return [...fake.multipart.uploads.keys()].at(-1);
}

/** Pick the next file and wait for the 继续上传 offer; the item's id. */
async function pickAndWaitForOffer(page) {
  tapOn(page, '#choose-file');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'resumable' && page.data.items[0].id, '继续上传 offered');
  return page.data.items[0].id;
}

/** The page with one large file picked and its first parts in OSS. */
async function largeFileUnderWay() {
  fake.multipart.putDelayMs = 40;
  const file = pickedFile(tmp.dir, 'long.mp4', 8 * PART);
  const wx = largeFileWx([[messageFile(file, 'video')]]);
  const page = renderPage('pages/index/index', wx, { getToken: async () => null });
  tapOn(page, '#choose-file');
  await waitFor(() => page.data.items[0] && page.data.items[0].progress > 0, 'parts under way');
  return { file, wx, page };
}

const byName = (page, name) => page.data.items.find((i) => i.name === name);
const tapOn = (page, selector) => page.querySelector(selector).dispatchEvent('tap');

test('at the threshold and above: parts with 暂停/继续; below: the form POST', { timeout: 20000 }, async () => {
  fake.multipart.putDelayMs = 60;
  const big = pickedFile(tmp.dir, 'movie.mp4', THRESHOLD + 5);
  const exact = pickedFile(tmp.dir, 'edge.mp4', THRESHOLD);
  const small = pickedFile(tmp.dir, 'small.jpg', THRESHOLD - 1);
  const wx = largeFileWx([[messageFile(big, 'video'), messageFile(exact, 'video'), messageFile(small, 'image')]]);
  const page = renderPage('pages/index/index', wx, { getToken: async () => null });
  tapOn(page, '#choose-file');
  await waitFor(() => byName(page, 'movie.mp4') && byName(page, 'movie.mp4').progress > 0, 'the large file has a part in OSS');
  assert.deepEqual(page.data.items.map((i) => [i.name, i.multipart]), [['movie.mp4', true], ['edge.mp4', true], ['small.jpg', false]]);
  const movie = byName(page, 'movie.mp4');
  tapOn(page, `#item-${movie.id} .pause`);
  await waitFor(() => byName(page, 'movie.mp4').state === 'paused', '已暂停');
  assert.match(page.querySelector(`#item-${movie.id}`).dom.textContent, /已暂停/);
  assert.ok(page.querySelector(`#item-${movie.id} .resume`), '继续 shown');
  assert.ok(page.querySelector(`#item-${movie.id} .cancel`), '取消 still there');
  assert.equal(page.querySelector(`#item-${movie.id} .pause`), undefined);
  assert.equal(page.data.busy, true, 'a paused file keeps the batch open');

  await waitFor(() => byName(page, 'edge.mp4').state === 'success' && byName(page, 'small.jpg').state === 'success', 'the others finish meanwhile');
  tapOn(page, `#item-${movie.id} .resume`);
  await waitFor(() => byName(page, 'movie.mp4').state === 'success', 'the large file finishes');

  assert.equal(byName(page, 'movie.mp4').key, 'uploads/fake/mp-1-movie.mp4');
  assert.ok(fake.objects.get('uploads/fake/mp-1-movie.mp4').bytes.equals(big.bytes));
  assert.ok(fake.objects.get('uploads/fake/mp-2-edge.mp4').bytes.equals(exact.bytes));
  assert.deepEqual(fake.received.uploads.map((u) => u.parts.at(-1).data.length), [small.size], 'only the small file went by form');
  assert.equal(fake.received.multipart.statuses.length, 1, '继续 asked what OSS holds');
  assert.equal(page.data.busy, false);
  assert.equal(page.querySelectorAll('.pause').length, 0);
});

test('a file OSS already holds part of: 继续上传 sends only the rest; 重新上传 starts anew; 取消 aborts it', { timeout: 20000 }, async () => {
  const file = pickedFile(tmp.dir, 'talk.mp4', 6 * PART + 1);
  const wx = largeFileWx([[messageFile(file, 'video')], [messageFile(file, 'video')], [messageFile(file, 'video')]]);
  const uploadId = await interruptedRun(wx, file, 3);
  const held = [...fake.multipart.uploads.get(uploadId).parts.keys()];

  const page = renderPage('pages/index/index', wx, { getToken: async () => null });
  const id = await pickAndWaitForOffer(page);
  assert.match(page.querySelector(`#item-${id}`).dom.textContent, /上次没传完/);
  assert.ok(page.querySelector(`#item-${id} .restart`), '重新上传 offered too');
  assert.equal(page.data.busy, true);
  const putsBefore = fake.received.multipart.puts.length;
  tapOn(page, `#item-${id} .continue`);
  await waitFor(() => page.data.items[0].state === 'success', 'continued to the end');
  const sent = fake.received.multipart.puts.slice(putsBefore).map((p) => p.partNumber);
  assert.deepEqual(sent.filter((n) => held.includes(n)), [], 'held parts are not sent again');
  assert.equal(sent.length, 7 - held.length);
  assert.ok(fake.objects.get(page.data.items[0].key).bytes.equals(file.bytes));

  // Again, interrupted; this time 重新上传: a new upload, the old one aborted.
  const second = await interruptedRun(wx, file, 2);
  tapOn(page, `#item-${await pickAndWaitForOffer(page)} .restart`);
  await waitFor(() => page.data.items[0].state === 'success', 'uploaded anew');
  assert.ok(fake.received.multipart.deletes.some((d) => d.id === second), 'the older upload is aborted');
  assert.equal(fake.received.multipart.creates.length, 3);

  // Once more, and 取消 on the offer: aborted on the server, nothing uploaded.
  const third = await interruptedRun(wx, file, 1);
  tapOn(page, `#item-${await pickAndWaitForOffer(page)} .cancel`);
  await waitFor(() => fake.received.multipart.deletes.some((d) => d.id === third), 'DELETE sent');
  assert.equal(page.data.items[0].state, 'canceled');
  assert.equal(page.data.busy, false);
  assert.equal(fake.received.multipart.creates.length, 4);
});

test('取消 on a running large file aborts it on the server', { timeout: 20000 }, async () => {
  const { page } = await largeFileUnderWay();
  tapOn(page, '.cancel');
  await waitFor(() => page.data.items[0].state === 'canceled', '已取消');
  await waitFor(() => fake.received.multipart.deletes.length === 1, 'DELETE sent');
  assert.equal(fake.multipart.uploads.size, 0);
  assert.equal(page.data.busy, false);
});

test('leaving the page pauses a large file instead of aborting it: 继续上传 later', { timeout: 20000 }, async () => {
  const { file, wx, page } = await largeFileUnderWay();
  page.detach();
  await new Promise((r) => setTimeout(r, 150));
  const count = fake.received.multipart.puts.length;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(fake.received.multipart.puts.length, count, 'stopped');
  assert.equal(fake.received.multipart.deletes.length, 0, 'not aborted on the server');
  const saved = await createMultipartUploader({ wx, baseUrl: fake.base }).findResumable(file);
  assert.equal(saved && saved.uploadId, [...fake.multipart.uploads.keys()][0]);
});

test('重试 after a failed completion continues without asking; 成功 shows the record complete answered, no confirm', { timeout: 30000 }, async () => {
  // The first completion and its 3 retries (1 + 2 + 4 s apart) find the database down.
  fake.multipart.onComplete = (id, attempt) => (attempt <= 4 ? apiError(503, 'DatabaseUnavailable', 'database down') : null);
  const file = pickedFile(tmp.dir, 'lecture.mp4', 4 * PART + 3);
  const wx = largeFileWx([[messageFile(file, 'video')]]);
  const page = renderPage('pages/index/index', wx, { getToken: async () => null });
  tapOn(page, '#choose-file');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'failed', 'completion failed', 20000);
  const failed = page.data.items[0];
  assert.equal(failed.message, '服务端数据库暂时不可用, 请稍后重试');
  assert.equal(failed.retryable, true);
  assert.equal(page.data.busy, false);
  const putsBefore = fake.received.multipart.puts.length;
  // The server records the name it was given; a different one here shows the page takes the record's.
  [...fake.multipart.uploads.values()][0].name = '讲座 第一讲.mp4';

  tapOn(page, `#item-${failed.id} .retry`);
  await waitFor(() => page.data.items[0].state === 'success', 'completed on 重试');
  assert.equal(fake.received.multipart.puts.length, putsBefore, 'every part was held: none sent again');
  assert.equal(fake.received.multipart.creates.length, 1, 'the same upload, not a new one');
  assert.equal(fake.received.multipart.statuses.length, 1, 'asked what OSS holds, without offering 继续上传');

  const [record] = fake.records;
  const done = page.data.items[0];
  assert.equal(record.name, '讲座 第一讲.mp4');
  assert.deepEqual([done.key, done.name, done.size], [record.key, record.name, record.size], 'the record complete answered');
  assert.match(page.querySelector(`#item-${done.id}`).dom.textContent, /讲座 第一讲\.mp4/);
  assert.equal(done.confirmKey, '');
  assert.equal(fake.received.confirms.length, 0, 'complete records the file itself: no POST /api/files/confirm');
  assert.equal(page.data.busy, false);
});
