// The upload page, rendered headlessly, driven by taps, against a fake signer and OSS.

const test = require('node:test');
const assert = require('node:assert/strict');
const { renderPage, waitFor, attrsOf } = require('./support/page-env');
const { pageWx, messageFile } = require('./support/page-wx');
const { freshServersEachTest, ossErrorXml, callbackFailedXml, apiError } = require('./support/fake-servers');
const { AGREE_BUTTON_ID } = require('../../miniprogram/utils/privacy');
const { pickedFile } = require('./support/files');
const config = require('../../miniprogram/config');

let fake;
let tmp;
freshServersEachTest(test, (env) => ({ fake, tmp } = env), { config });

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

test('the hint shows the limits from config.js, and the picker uses them', { timeout: 15000 }, async () => {
  const saved = { pick: config.maxFilesPerPick, concurrent: config.maxConcurrentUploads };
  config.maxFilesPerPick = 5;
  config.maxConcurrentUploads = 2;
  try {
    const wx = pageWx([]);
    const page = renderPage('pages/index/index', wx);
    assert.match(text(page), /一次最多选 5 个, 同时上传 2 个/);
    page.querySelector('#choose-file').dispatchEvent('tap');
    await waitFor(() => wx.calls.chooseMessageFile.length === 1, 'picker opened');
    assert.equal(wx.calls.chooseMessageFile[0].count, 5);
  } finally {
    config.maxFilesPerPick = saved.pick;
    config.maxConcurrentUploads = saved.concurrent;
  }
  assert.match(text(renderPage('pages/index/index', pageWx([]))), /一次最多选 9 个, 同时上传 3 个/);
});

// The record: 成功 shows what the server recorded (from OSS's callback answer, or a confirm).

/** The key the fake signer put into the n-th upload's form. */
function uploadedKey(upload) {
  return upload.parts.find((p) => p.name === 'key').data.toString();
}

test('callback on: 成功 shows the name and size the server recorded', { timeout: 15000 }, async () => {
  const file = pickedFile(tmp.dir, 'IMG_0001.jpg', 1500);
  fake.oss = (upload) => ({
    status: 200,
    json: { id: 41, key: uploadedKey(upload), name: '春游合影.jpg', size: 1536, contentType: 'image/jpeg', createdAt: '2026-12-01T10:00:00Z' },
  });
  const wx = pageWx([[messageFile(file, 'image')]]);
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'success', 'success');
  assert.match(text(page), /春游合影\.jpg/);
  assert.match(text(page), /1\.5 KB/);
  assert.equal(fake.received.confirms.length, 0);
});

for (const [label, answer] of [
  ['callbacks off (200, empty body)', { status: 200, body: '' }],
  ['the callback failed (203 CallbackFailed)', { status: 203, body: callbackFailedXml() }],
]) {
  test(`${label}: confirmed first, 成功 only after the record arrives`, { timeout: 15000 }, async () => {
    const file = pickedFile(tmp.dir, '周报.pdf', 4096);
    fake.oss = () => answer;
    const confirm = fake.confirm;
    let release;
    fake.confirm = (body) => new Promise((resolve) => (release = () => resolve(confirm(body))));
    const wx = pageWx([[messageFile(file, 'file')]]);
    const page = renderPage('pages/index/index', wx);
    page.querySelector('#choose-file').dispatchEvent('tap');
    await waitFor(() => release, 'confirm in flight');
    assert.equal(page.data.items[0].state, 'uploading', 'not 成功 before the record');
    assert.doesNotMatch(text(page), /成功|失败/);
    release();
    await waitFor(() => page.data.items[0].state === 'success', 'success');
    assert.deepEqual(fake.received.confirms.map((c) => c.body), [{ key: uploadedKey(fake.received.uploads[0]) }]);
    assert.ok(text(page).includes(page.data.items[0].key));
    assert.match(text(page), /周报\.pdf/);
    assert.match(text(page), /4\.0 KB/);
  });
}

test('a confirm that fails: its Chinese message and 重试, which confirms again without uploading again', { timeout: 15000 }, async () => {
  const file = pickedFile(tmp.dir, 'a.pdf', 1000);
  const confirm = fake.confirm;
  fake.confirm = () => apiError(503, 'DatabaseUnavailable', 'database is down');
  const wx = pageWx([[messageFile(file, 'file')]]);
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'failed', 'failed');
  assert.match(text(page), /文件已存到 OSS, 但服务端没能登记这次上传: 服务端数据库暂时不可用, 请稍后重试/);
  assert.ok(page.querySelector('.retry'), 'a 重试 button');
  assert.equal(page.data.busy, false);

  fake.confirm = confirm;
  page.querySelector('.retry').dispatchEvent('tap');
  await waitFor(() => page.data.items[0].state === 'success', 'confirmed on 重试');
  assert.equal(fake.received.uploads.length, 1, 'not uploaded again');
  assert.equal(fake.received.signatures.length, 1, 'not signed again');
  assert.equal(fake.received.confirms.length, 2);
  assert.equal(page.data.items.length, 1);
  assert.equal(page.data.busy, false);
});

test('a confirm the server refuses for good (404 ObjectNotFound): the message, no 重试', { timeout: 15000 }, async () => {
  const file = pickedFile(tmp.dir, 'a.pdf', 1000);
  fake.confirm = () => apiError(404, 'ObjectNotFound');
  const wx = pageWx([[messageFile(file, 'file')]]);
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'failed', 'failed');
  assert.match(text(page), /服务端没能登记这次上传: OSS 中没有找到这个文件/);
  assert.equal(page.querySelectorAll('.retry').length, 0);
});

// 用户隐私保护指引

test('errno 112 (not declared in the privacy guide): what to declare, and where', { timeout: 15000 }, async () => {
  const wx = pageWx([
    { fail: { errMsg: 'chooseMessageFile:fail api scope is not declared in the privacy agreement', errno: 112 } },
    { fail: { errMsg: 'chooseMedia:fail api scope is not declared in the privacy agreement', errno: 112 } },
  ]);
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.notice, 'notice');
  assert.match(page.data.notice, /「收集你选中的文件」/);
  assert.match(page.data.notice, /小程序后台「账号设置 - 服务内容声明 - 用户隐私保护指引 - 去完善」/);
  assert.match(page.data.notice, /errno 112/);
  assert.doesNotMatch(page.data.notice, /没能选择文件/);
  page.querySelector('#choose-media').dispatchEvent('tap');
  await waitFor(() => /照片或视频/.test(page.data.notice), 'media notice');
  assert.match(text(page), /「收集你选中的照片或视频信息」/);
});

test('errno 104 / 103 (the user did not agree): a message of its own; any other failure the generic one', { timeout: 15000 }, async () => {
  const wx = pageWx([
    { fail: { errMsg: 'chooseMessageFile:fail privacy permission is not authorized', errno: 104 } },
    { fail: { errMsg: 'chooseMedia:fail auth deny', errno: 103 } },
    { fail: { errMsg: 'chooseMessageFile:fail something else' } },
  ]);
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.notice, 'notice');
  assert.match(page.data.notice, /你没有同意《用户隐私保护指引》/);
  page.setData({ notice: '' });
  page.querySelector('#choose-media').dispatchEvent('tap');
  await waitFor(() => page.data.notice, 'notice');
  assert.match(page.data.notice, /你没有同意/);
  page.setData({ notice: '' });
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.notice, 'notice');
  assert.equal(page.data.notice, '没能选择文件, 请重试 (chooseMessageFile:fail something else)');
});

test('privacy prompt: WeChat asks the page first; 同意 (the agreePrivacyAuthorization button) lets the picker run', { timeout: 15000 }, async () => {
  const file = pickedFile(tmp.dir, 'a.txt', 10);
  const wx = pageWx([[messageFile(file, 'file')]], {}, { privacy: { needed: true } });
  const page = renderPage('pages/index/index', wx);
  assert.equal(page.querySelector('#privacy-prompt'), undefined);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.privacyPrompt, 'prompt shown');
  assert.match(text(page), /用户隐私保护提示/);
  assert.match(text(page), /《演示小程序隐私保护指引》/, 'the name from wx.getPrivacySetting');
  assert.deepEqual(wx.calls.privacyAnswers, [{ event: 'exposureAuthorization' }]);
  const agree = attrsOf(page, 'privacy-op').find((a) => a.id === AGREE_BUTTON_ID);
  assert.equal(agree.openType, 'agreePrivacyAuthorization');

  page.querySelector('#privacy-contract').dispatchEvent('tap');
  await waitFor(() => wx.calls.privacyContract === 1, 'the guide opens from the prompt');

  page.querySelector('#' + AGREE_BUTTON_ID).dispatchEvent('agreeprivacyauthorization');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'success', 'picked and uploaded');
  assert.equal(page.data.privacyPrompt, false);
  assert.deepEqual(wx.calls.privacyAnswers.at(-1), { buttonId: 'agree-btn', event: 'agree' });
});

test('privacy prompt: 不同意 fails the picker (errno 104) with the message', { timeout: 15000 }, async () => {
  const wx = pageWx([], {}, { privacy: { needed: true } });
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-media').dispatchEvent('tap');
  await waitFor(() => page.data.privacyPrompt, 'prompt shown');
  page.querySelector('#privacy-disagree').dispatchEvent('tap');
  await waitFor(() => page.data.notice, 'notice');
  assert.equal(page.data.privacyPrompt, false);
  assert.deepEqual(wx.calls.privacyAnswers.at(-1), { event: 'disagree' });
  assert.match(page.data.notice, /你没有同意《用户隐私保护指引》/);
  assert.equal(page.data.items.length, 0);
});

test('privacy prompt: a page that unloads while WeChat waits answers it (a listener must always resolve)', { timeout: 15000 }, async () => {
  const wx = pageWx([], {}, { privacy: { needed: true } });
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.privacyPrompt, 'prompt shown');
  page.detach();
  assert.deepEqual(wx.calls.privacyAnswers.at(-1), { event: 'disagree' });
});

test('a base library without the privacy APIs (below 2.32.3): no prompt, no crash, pickers work', { timeout: 15000 }, async () => {
  const file = pickedFile(tmp.dir, 'a.txt', 10);
  const wx = pageWx([[messageFile(file, 'file')]], {}, { privacy: { api: false } });
  assert.equal(wx.onNeedPrivacyAuthorization, undefined);
  const page = renderPage('pages/index/index', wx);
  page.instance.onShow(); // registers nothing, throws nothing
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'success', 'uploaded');
  assert.equal(page.data.privacyContractName, '《用户隐私保护指引》');
  page.instance.openPrivacyContract(); // a no-op without wx.openPrivacyContract
  page.detach();
});
