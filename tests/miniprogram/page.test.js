// The upload page, rendered headlessly, driven by taps, against a fake signer and OSS.

const test = require('node:test');
const assert = require('node:assert/strict');
const { renderPage, waitFor, attrsOf } = require('./support/page-env');
const { pageWx, messageFile } = require('./support/page-wx');
const { startFakeServers, ossErrorXml } = require('./support/fake-servers');
const { makeTempDir, pickedFile } = require('./support/files');
const config = require('../../miniprogram/config');

let fake;
let tmp;

test.beforeEach(async () => {
  fake = await startFakeServers();
  tmp = makeTempDir();
  config.signerBaseUrl = fake.base;
});

test.afterEach(async () => {
  await fake.close();
  tmp.remove();
});

const text = (comp) => comp.dom.textContent;

test('选择文件 -> progress -> 成功 with the key and a thumbnail', { timeout: 15000 }, async () => {
  const image = pickedFile(tmp.dir, 'photo.jpg', 200 * 1024);
  const doc = pickedFile(tmp.dir, 'notes.txt', 1000);
  const wx = pageWx([[messageFile(image, 'image'), messageFile(doc, 'file')]], { chunkDelayMs: 5 });
  const page = renderPage('pages/index/index', wx, { getToken: async () => null });
  assert.match(text(page), /还没有上传记录/);

  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items.length === 2, 'two items listed');
  assert.equal(page.data.busy, true);
  assert.deepEqual(attrsOf(page, 'action').map((a) => a.disabled), [true, true], 'buttons disabled while the batch runs');
  assert.deepEqual({ count: wx.calls.chooseMessageFile[0].count, type: wx.calls.chooseMessageFile[0].type }, { count: 9, type: 'all' });

  const seen = new Set();
  await waitFor(() => {
    const photo = page.data.items.find((i) => i.name === 'photo.jpg');
    if (photo.state === 'uploading') seen.add(photo.progress);
    return page.data.items.every((i) => i.state === 'success');
  }, 'both uploads succeed');
  assert.ok([...seen].some((p) => p > 0 && p < 100), `progress seen mid-way: ${[...seen]}`);

  const photo = page.data.items.find((i) => i.name === 'photo.jpg');
  assert.equal(photo.key, fake.received.uploads.find((u) => u.parts.at(-1).data.length === image.size).parts[0].data.toString());
  assert.equal(page.data.busy, false);
  assert.match(text(page), /成功/);
  assert.ok(text(page).includes(photo.key));
  const thumbs = attrsOf(page, 'thumb');
  assert.equal(thumbs.length, 1, 'a thumbnail for the image only');
  assert.equal(thumbs[0].src, image.path, 'the thumbnail shows the local temp file');
  assert.deepEqual(attrsOf(page, 'action').map((a) => a.disabled), [false, false]);
  assert.equal(page.querySelectorAll('progress').length, 0);
});

test('a failure shows its Chinese message and the RequestId', { timeout: 15000 }, async () => {
  const file = pickedFile(tmp.dir, 'a.png', 1000);
  fake.oss = () => ({ status: 403, body: ossErrorXml('InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.', 'REQ-PAGE-1') });
  const wx = pageWx([[messageFile(file, 'image')]]);
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'failed', 'upload fails');
  assert.match(text(page), /失败/);
  assert.match(text(page), /上传凭证无效/);
  assert.match(text(page), /RequestId: REQ-PAGE-1/);
  assert.equal(page.querySelectorAll('.retry').length, 0, 'no 重试 for a refused credential');
  assert.equal(page.querySelectorAll('.thumb').length, 0);
});

test('signer refusal (too large) is shown before any upload', { timeout: 15000 }, async () => {
  const file = pickedFile(tmp.dir, 'big.mp4', 1000);
  fake.signer = () => ({ status: 413, json: { error: { code: 'FileTooLarge', message: '文件太大: 1000 字节, 上限 10 字节' } } });
  const wx = pageWx([[messageFile(file, 'video')]]);
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'failed', 'refused');
  assert.match(text(page), /文件太大, 超过了允许的上限/);
  assert.match(text(page), /上限 10 字节/);
  assert.equal(wx.stats.uploads, 0);
});

test('取消 stops a running upload; no second batch while one runs', { timeout: 15000 }, async () => {
  const file = pickedFile(tmp.dir, 'movie.mp4', 512 * 1024);
  const wx = pageWx([[messageFile(file, 'video')], [messageFile(file, 'video')]], { chunkDelayMs: 20 });
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].progress > 0, 'upload under way');
  assert.equal(attrsOf(page, 'bar')[0].percent, page.data.items[0].progress, 'the progress bar is fed');

  page.querySelector('#choose-file').dispatchEvent('tap');
  page.querySelector('#choose-media').dispatchEvent('tap');
  await waitFor(() => wx.calls.toasts.length === 2, 'both taps answered with a toast');
  assert.equal(wx.calls.toasts[0].title, '还有文件在上传, 请等这一批完成');
  assert.equal(wx.calls.chooseMessageFile.length, 1, 'no double submission');
  assert.equal(wx.calls.chooseMedia.length, 0);

  page.querySelector('.cancel').dispatchEvent('tap');
  await waitFor(() => page.data.items[0].state === 'canceled', 'canceled');
  assert.match(text(page), /已取消/);
  assert.equal(page.data.busy, false);
  assert.equal(page.querySelectorAll('.cancel').length, 0);
  assert.equal(fake.received.uploads.length, 0, 'OSS never got a complete body');
});

test('a network failure offers 重试, which uploads the file', { timeout: 15000 }, async () => {
  const file = pickedFile(tmp.dir, 'a.pdf', 1000);
  const wx = pageWx([[messageFile(file, 'file')]], { timeoutMs: 300 });
  fake.oss = () => ({ hold: true });
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'failed', 'times out');
  assert.match(text(page), /上传超时/);

  fake.oss = () => ({ status: 200 });
  page.querySelector('.retry').dispatchEvent('tap');
  await waitFor(() => page.data.items[0].state === 'success', 'retry succeeds');
  assert.equal(page.data.items.length, 1);
  assert.ok(page.data.items[0].key);
});

test('相册 / 拍摄 uses chooseMedia for images and videos', { timeout: 15000 }, async () => {
  const file = pickedFile(tmp.dir, 'x.jpg', 500);
  const wx = pageWx([[{ tempFilePath: file.path, size: file.size, fileType: 'image', duration: 0, height: 1, width: 1, thumbTempFilePath: '' }]]);
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-media').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'success', 'uploaded');
  assert.deepEqual(wx.calls.chooseMedia[0].mediaType, ['image', 'video']);
  assert.equal(page.data.items[0].name, require('node:path').basename(file.path));
  assert.equal(page.querySelectorAll('.thumb').length, 1);
});

test('cancelling the picker changes nothing', { timeout: 15000 }, async () => {
  const wx = pageWx([]);
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(page.data.items.length, 0);
  assert.equal(page.data.notice, '');
  assert.equal(page.data.busy, false);
});
