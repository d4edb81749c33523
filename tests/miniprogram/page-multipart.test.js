// The upload page with large files: they go in parts (暂停/继续/取消), small ones keep the form POST,
// and a file OSS already holds part of is offered 继续上传.

const test = require('node:test');
const crypto = require('node:crypto');
const assert = require('node:assert/strict');
const { renderPage, waitFor, attrsOf } = require('./support/page-env');
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
function largeFileWx(picks, network, more) {
  const wx = pageWx(picks, network, more);
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
async function largeFileUnderWay(more) {
  fake.multipart.putDelayMs = 40;
  const file = pickedFile(tmp.dir, 'long.mp4', 16 * PART);
  const wx = largeFileWx([[messageFile(file, 'video')]], {}, more);
  const page = renderPage('pages/index/index', wx, { getToken: async () => null });
  tapOn(page, '#choose-file');
  await waitFor(() => page.data.items[0] && page.data.items[0].progress > 0, 'parts under way');
  return { file, wx, page };
}

const byName = (page, name) => page.data.items.find((i) => i.name === name);
const text = (page) => page.dom.textContent;

/** Part n of a file's bytes as the fake OSS stores it. */
function partOf(bytes, n, partSize) {
  const data = bytes.subarray((n - 1) * partSize, n * partSize);
  return { bytes: data, etag: `"${crypto.createHash('md5').update(data).digest('hex').toUpperCase()}"` };
}
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
  assert.match(page.querySelector(`#item-${movie.id}`).dom.textContent, /已暂停 \d+%/);
  assert.ok(page.querySelector(`#item-${movie.id} .resume`), '继续 shown');
  assert.ok(page.querySelector(`#item-${movie.id} .cancel`), '取消 still there');
  assert.equal(page.querySelector(`#item-${movie.id} .pause`), undefined);
  const colours = attrsOf(page, 'bar').map((a) => a.activeColor);
  assert.ok(colours.includes('#b8bcc4'), 'the paused bar is grey');
  assert.ok(colours.includes('#07c160'), 'the running ones are in the accent colour');
  // Button hierarchy: 暂停/继续 and 重试 are normal controls, 取消 and 重新上传 quiet.
  assert.match(attrsOf(page, 'resume')[0].class, /\bop\b/);
  assert.doesNotMatch(attrsOf(page, 'resume')[0].class, /op-quiet/);
  assert.match(attrsOf(page, 'cancel')[0].class, /op-quiet/);

  await waitFor(() => byName(page, 'edge.mp4').state === 'success' && byName(page, 'small.jpg').state === 'success', 'the others finish meanwhile');
  tapOn(page, `#item-${movie.id} .resume`);
  await waitFor(() => byName(page, 'movie.mp4').state === 'success', 'the large file finishes');

  assert.equal(byName(page, 'movie.mp4').key, 'uploads/fake/mp-1-movie.mp4');
  assert.ok(fake.objects.get('uploads/fake/mp-1-movie.mp4').bytes.equals(big.bytes));
  assert.ok(fake.objects.get('uploads/fake/mp-2-edge.mp4').bytes.equals(exact.bytes));
  assert.deepEqual(fake.received.uploads.map((u) => u.parts.at(-1).data.length), [small.size], 'only the small file went by form');
  assert.equal(fake.received.multipart.statuses.length, 1, '继续 asked what OSS holds');
  assert.equal(page.querySelectorAll('.pause').length, 0);
});

test('a file OSS already holds part of: 继续上传 sends only the rest; 重新上传 starts anew; 取消 aborts it', { timeout: 20000 }, async () => {
  const file = pickedFile(tmp.dir, 'talk.mp4', 6 * PART + 1);
  const wx = largeFileWx([[messageFile(file, 'video')], [messageFile(file, 'video')], [messageFile(file, 'video')]], {}, { modals: [true] });
  const uploadId = await interruptedRun(wx, file, 3);
  const held = [...fake.multipart.uploads.get(uploadId).parts.keys()];

  const page = renderPage('pages/index/index', wx, { getToken: async () => null });
  const id = await pickAndWaitForOffer(page);
  assert.match(page.querySelector(`#item-${id}`).dom.textContent, /上次没传完/);
  assert.ok(page.querySelector(`#item-${id} .restart`), '重新上传 offered too');
  assert.match(attrsOf(page, 'restart')[0].class, /op-quiet/);
  await waitFor(() => page.data.items[0].heldText, 'how much OSS holds');
  assert.equal(page.querySelector(`#item-${id} .size`).dom.textContent, `已传 ${(held.length * PART / 1024).toFixed(1)} KB / ${(file.size / 1024).toFixed(1)} KB`);
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

  // Once more, and 取消 on the offer: it asks first (OSS holds a part), then aborts on the server.
  const third = await interruptedRun(wx, file, 1);
  const offered = await pickAndWaitForOffer(page);
  await waitFor(() => page.data.items[0].heldBytes > 0, 'held bytes known');
  const heldBytes = [...fake.multipart.uploads.get(third).parts.values()].reduce((sum, p) => sum + p.bytes.length, 0);
  tapOn(page, `#item-${offered} .cancel`);
  await waitFor(() => fake.received.multipart.deletes.some((d) => d.id === third), 'DELETE sent');
  assert.equal(wx.calls.modals.length, 1);
  assert.equal(wx.calls.modals[0].content, `已上传 ${Math.floor((heldBytes * 100) / file.size)}%，取消后需要从头再传`);
  await waitFor(() => page.data.items[0].state === 'canceled', '已取消');
  assert.equal(fake.received.multipart.creates.length, 4);
});

test('取消 on a running large file asks first (「已上传 n%」); 继续传 keeps it, 取消上传 aborts it on the server', { timeout: 20000 }, async () => {
  const { page, wx } = await largeFileUnderWay({ modals: [false, true] });
  tapOn(page, '.cancel');
  await waitFor(() => wx.calls.modals.length === 1, 'asked');
  assert.match(wx.calls.modals[0].content, /^已上传 \d+%，取消后需要从头再传$/);
  assert.deepEqual([wx.calls.modals[0].confirmText, wx.calls.modals[0].cancelText], ['取消上传', '继续传']);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(fake.received.multipart.deletes.length, 0, 'kept');
  assert.notEqual(page.data.items[0].state, 'canceled');

  tapOn(page, '.cancel');
  await waitFor(() => page.data.items[0].state === 'canceled', '已取消');
  assert.equal(fake.received.multipart.deletes.length, 1, 'DELETE sent');
  assert.equal(fake.multipart.uploads.size, 0);
});

test('a cancel that loses against the completion (409 UploadCompleting) shows the file as saved, never 已取消', { timeout: 20000 }, async () => {
  const { page, file } = await largeFileUnderWay({ modals: [true] });
  const up = [...fake.multipart.uploads.values()][0];
  // Another request is completing it meanwhile (every part in place): the cancel is refused, and
  // complete answers the record.
  fake.multipart.onDelete = () => {
    for (let n = 1; n <= up.partCount; n += 1) up.parts.set(n, partOf(file.bytes, n, up.partSize));
    return apiError(409, 'UploadCompleting', 'the upload is being completed');
  };
  tapOn(page, '.cancel');
  await waitFor(() => page.data.items[0].state === 'success', 'shown as saved');
  assert.match(page.querySelector(`#item-${page.data.items[0].id}`).dom.textContent, /已保存到我的文件/);
  assert.doesNotMatch(text(page), /已取消/);
  assert.equal(page.data.items[0].key, up.key);
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
  assert.equal(failed.message, '服务端数据库暂时不可用，请稍后重试');
  assert.equal(failed.retryable, true);
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
});

test('picking stays possible while a large file is paused or waits for 继续上传: the new files queue and upload', { timeout: 20000 }, async () => {
  fake.multipart.putDelayMs = 40;
  const big = pickedFile(tmp.dir, 'long.mp4', 16 * PART);
  const small = pickedFile(tmp.dir, 'note.txt', 300);
  const resumable = pickedFile(tmp.dir, 'talk.mp4', 6 * PART + 1);
  const other = pickedFile(tmp.dir, 'b.txt', 200);
  const wx = largeFileWx([[messageFile(big, 'video')], [messageFile(small, 'file')], [messageFile(resumable, 'video')], [messageFile(other, 'file')]]);
  const page = renderPage('pages/index/index', wx, { getToken: async () => null });
  tapOn(page, '#choose-file');
  await waitFor(() => page.data.items[0] && page.data.items[0].progress > 0, 'under way');
  tapOn(page, '.pause');
  await waitFor(() => page.data.items[0].state === 'paused', 'paused');
  assert.deepEqual(attrsOf(page, 'action').map((a) => a.disabled), [false, false]);
  tapOn(page, '#choose-file');
  await waitFor(() => byName(page, 'note.txt') && byName(page, 'note.txt').state === 'success', 'uploaded while the other is paused');
  assert.equal(byName(page, 'long.mp4').state, 'paused');

  await interruptedRun(wx, resumable, 2);
  tapOn(page, '#choose-file');
  await waitFor(() => byName(page, 'talk.mp4') && byName(page, 'talk.mp4').state === 'resumable', 'offer open');
  tapOn(page, '#choose-file');
  await waitFor(() => byName(page, 'b.txt') && byName(page, 'b.txt').state === 'success', 'uploaded while the offer waits');
  assert.equal(byName(page, 'talk.mp4').state, 'resumable');
  assert.deepEqual(wx.calls.toasts, []);
});
