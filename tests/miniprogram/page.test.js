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

test('选择文件 -> progress -> 已保存到我的文件 with a thumbnail, no storage key', { timeout: 15000 }, async () => {
  const image = pickedFile(tmp.dir, 'photo.jpg', 200 * 1024);
  const doc = pickedFile(tmp.dir, 'notes.txt', 1000);
  const wx = pageWx([[messageFile(image, 'image'), messageFile(doc, 'file')]], { chunkDelayMs: 5 });
  const page = renderPage('pages/index/index', wx, { getToken: async () => null });
  assert.match(text(page), /选好的文件会在这里显示上传进度/);

  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items.length === 2, 'two items listed');
  assert.deepEqual(attrsOf(page, 'action').map((a) => a.disabled), [false, false], 'more files can be picked while these upload');
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
  assert.match(text(page), /已保存到我的文件/);
  assert.ok(!text(page).includes(photo.key), 'the storage key is not shown');
  assert.ok(!text(page).includes('uploads/'));
  page.querySelector(`#item-${photo.id} .saved`).dispatchEvent('tap');
  await waitFor(() => wx.calls.switchTab.length === 1, 'switched');
  assert.deepEqual(wx.calls.switchTab, ['/pages/files/index']);
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
  assert.match(text(page), /没有传完/);
  assert.match(text(page), /上传凭证无效/);
  assert.match(text(page), /RequestId：REQ-PAGE-1/);
  assert.equal(page.querySelectorAll('.retry').length, 0, 'no 重试 for a refused credential');
  assert.equal(page.querySelectorAll('.thumb').length, 0);
});

test('signer refusal (too large) is shown before any upload', { timeout: 15000 }, async () => {
  const file = pickedFile(tmp.dir, 'big.mp4', 1000);
  fake.signer = () => ({ status: 413, json: { error: { code: 'FileTooLarge', message: '文件太大：1000 字节，上限 10 字节' } } });
  const wx = pageWx([[messageFile(file, 'video')]]);
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'failed', 'refused');
  assert.match(text(page), /文件太大，超过了允许的上限/);
  assert.match(text(page), /上限 10 字节/);
  assert.equal(wx.stats.uploads, 0);
});

test('取消 stops a running upload at once (a small one does not ask); more files can be picked meanwhile and queue', { timeout: 15000 }, async () => {
  const file = pickedFile(tmp.dir, 'movie.mp4', 512 * 1024);
  const more = pickedFile(tmp.dir, 'more.txt', 100);
  const wx = pageWx([[messageFile(file, 'video')], [messageFile(more, 'file')]], { chunkDelayMs: 20 });
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].progress > 0, 'upload under way');
  assert.equal(attrsOf(page, 'bar')[0].percent, page.data.items[0].progress, 'the progress bar is fed');
  assert.match(page.querySelector(`#item-${page.data.items[0].id} .state`).dom.textContent, /上传中 \d+%/);

  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items.length === 2, 'a second pick while the first uploads');
  assert.deepEqual(wx.calls.toasts, []);
  const movie = page.data.items[1];
  page.querySelector(`#item-${movie.id} .cancel`).dispatchEvent('tap');
  await waitFor(() => page.data.items[1].state === 'canceled', 'canceled');
  assert.deepEqual(wx.calls.modals, [], 'a small upload is cancelled without asking');
  assert.match(text(page), /已取消/);
  assert.equal(page.querySelector(`#item-${movie.id} .cancel`), undefined);
  await waitFor(() => page.data.items[0].state === 'success', 'the second file still uploads');
  assert.equal(fake.received.uploads.length, 1, 'OSS never got the cancelled body');
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
  assert.match(page.data.items[0].name, /^照片_\d{8}_\d{6}\.jpg$/);
  assert.equal(page.querySelectorAll('.thumb').length, 1);
});

test('photos and videos are named by the local time of the pick, with a suffix within one second; the record shows that name', { timeout: 15000 }, async () => {
  const media = (name, fileType) => {
    const f = pickedFile(tmp.dir, name, 300);
    return { tempFilePath: f.path, size: f.size, fileType, duration: 0, height: 1, width: 1, thumbTempFilePath: '' };
  };
  const picks = [[media('a.jpg', 'image'), media('b.JPEG', 'image'), media('c.mp4', 'video')]];
  const wx = pageWx(picks);
  const RealDate = Date;
  // 2026-12-06 10:15:32 local time, the moment of the pick.
  global.Date = class extends RealDate {
    constructor(...args) {
      super(...(args.length ? args : [2026, 11, 6, 10, 15, 32]));
    }
  };
  let page;
  try {
    page = renderPage('pages/index/index', wx);
    page.querySelector('#choose-media').dispatchEvent('tap');
    await waitFor(() => page.data.items.length === 3, 'listed');
  } finally {
    global.Date = RealDate;
  }
  assert.deepEqual(page.data.items.map((i) => i.name).sort(), ['照片_20261206_101532.jpg', '照片_20261206_101532_2.jpeg', '视频_20261206_101532.mp4']);
  await waitFor(() => page.data.items.every((i) => i.state === 'success'), 'uploaded');
  assert.deepEqual(fake.received.signatures.map((s) => s.query.get('filename')).sort(), ['照片_20261206_101532.jpg', '照片_20261206_101532_2.jpeg', '视频_20261206_101532.mp4']);
  assert.deepEqual(fake.records.map((r) => r.name).sort(), ['照片_20261206_101532.jpg', '照片_20261206_101532_2.jpeg', '视频_20261206_101532.mp4']);
  assert.doesNotMatch(text(page), /tmp_/);
});

test('cancelling the picker changes nothing', { timeout: 15000 }, async () => {
  const wx = pageWx([]);
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(page.data.items.length, 0);
  assert.equal(page.data.notice, '');
});

test('the header: no title under the navigation bar, a hint with what a user needs and no setting values', { timeout: 15000 }, async () => {
  const saved = config.maxFilesPerPick;
  config.maxFilesPerPick = 5;
  try {
    const wx = pageWx([]);
    const page = renderPage('pages/index/index', wx);
    assert.equal(page.querySelector('.hint').dom.textContent, '一次最多选 5 个文件；大文件可暂停，断网后能接着传。');
    page.querySelector('#choose-file').dispatchEvent('tap');
    await waitFor(() => wx.calls.chooseMessageFile.length === 1, 'picker opened');
    assert.equal(wx.calls.chooseMessageFile[0].count, 5);
  } finally {
    config.maxFilesPerPick = saved;
  }
  const page = renderPage('pages/index/index', pageWx([]));
  assert.doesNotMatch(text(page), /OSS|分片|MB|上传文件到/);
  assert.equal(page.querySelectorAll('.title').length, 0);
  assert.equal(JSON.parse(require('node:fs').readFileSync(require.resolve('../../miniprogram/pages/index/index.json'), 'utf8')).navigationBarTitleText, '上传文件');
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
    assert.equal(page.data.items[0].state, 'saving', '保存中 while the server records it, not 已保存');
    assert.match(text(page), /保存中/);
    assert.doesNotMatch(text(page), /已保存|没有传完|上传中/);
    assert.equal(page.querySelectorAll('.cancel').length, 0, 'no 取消 at 100%');
    release();
    await waitFor(() => page.data.items[0].state === 'success', 'success');
    assert.deepEqual(fake.received.confirms.map((c) => c.body), [{ key: uploadedKey(fake.received.uploads[0]) }]);
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
  assert.match(text(page), /文件已存到 OSS，但服务端没能登记这次上传：服务端数据库暂时不可用，请稍后重试/);
  assert.ok(page.querySelector('.retry'), 'a 重试 button');

  fake.confirm = confirm;
  page.querySelector('.retry').dispatchEvent('tap');
  await waitFor(() => page.data.items[0].state === 'success', 'confirmed on 重试');
  assert.equal(fake.received.uploads.length, 1, 'not uploaded again');
  assert.equal(fake.received.signatures.length, 1, 'not signed again');
  assert.equal(fake.received.confirms.length, 2);
  assert.equal(page.data.items.length, 1);
});

test('a confirm the server refuses for good (404 ObjectNotFound): the message, no 重试', { timeout: 15000 }, async () => {
  const file = pickedFile(tmp.dir, 'a.pdf', 1000);
  fake.confirm = () => apiError(404, 'ObjectNotFound');
  const wx = pageWx([[messageFile(file, 'file')]]);
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'failed', 'failed');
  assert.match(text(page), /服务端没能登记这次上传：OSS 中没有找到这个文件/);
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

test('正式版: a picker refused for the privacy guide (112) or banned reads plainly; a refused prompt keeps its own words', { timeout: 15000 }, async () => {
  const wx = pageWx([
    { fail: { errMsg: 'chooseMessageFile:fail api scope is not declared in the privacy agreement', errno: 112 } },
    { fail: { errMsg: 'chooseMedia:fail privacy permission is not authorized', errno: 104 } },
    { fail: { errMsg: 'chooseMessageFile:fail something else' } },
  ], {}, { envVersion: 'release' });
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.notice, 'notice');
  assert.equal(page.data.notice, '暂时不能选择文件，请稍后再试');
  page.setData({ notice: '' });
  page.querySelector('#choose-media').dispatchEvent('tap');
  await waitFor(() => page.data.notice, 'notice');
  assert.match(page.data.notice, /^你没有同意《用户隐私保护指引》/);
  page.setData({ notice: '' });
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.notice, 'notice');
  assert.equal(page.data.notice, '没能选择文件，请重试', 'no errMsg outside 开发版');
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
  assert.equal(page.data.notice, '没能选择文件，请重试（chooseMessageFile:fail something else）');
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

// 开发版 / 体验版 / 正式版

test('体验版 and 正式版: one plain sentence, no developer text; the codes behind 复制错误信息', { timeout: 15000 }, async () => {
  for (const envVersion of ['trial', 'release']) {
    const file = pickedFile(tmp.dir, 'a.png', 1000);
    fake.oss = () => ({ status: 403, body: ossErrorXml('InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.', 'REQ-PAGE-2') });
    const wx = pageWx([[messageFile(file, 'image')]], {}, { envVersion });
    const page = renderPage('pages/index/index', wx);
    page.querySelector('#choose-file').dispatchEvent('tap');
    await waitFor(() => page.data.items[0] && page.data.items[0].state === 'failed', 'upload fails');
    const card = page.querySelector(`#item-${page.data.items[0].id}`).dom.textContent;
    assert.match(card, /上传失败，请稍后重试/);
    assert.doesNotMatch(card, /OSS|AccessKey|RequestId|REQ-PAGE-2|config\.js|[A-Za-z]{4,}/, `${envVersion}: no developer text in ${card}`);
    page.querySelector('.copy').dispatchEvent('tap');
    await waitFor(() => wx.calls.clipboard.length === 1, 'copied');
    assert.match(wx.calls.clipboard[0], /^错误码：InvalidAccessKeyId\nHTTP 状态：403\nRequestId：REQ-PAGE-2\n时间：\d{4}-/);
    page.detach();
  }
});

test('正式版: a network failure and a refused login read as plain sentences; 复制错误信息 falls back to a dialog', { timeout: 15000 }, async () => {
  const files = [pickedFile(tmp.dir, 'a.pdf', 100), pickedFile(tmp.dir, 'b.pdf', 100)];
  fake.signer = (query) => (query.get('filename') === 'a.pdf' ? { drop: true } : apiError(401, 'Unauthorized', 'token expired'));
  const wx = pageWx([files.map((f) => messageFile(f, 'file'))], {}, { envVersion: 'release', clipboardFail: { errMsg: 'setClipboardData:fail api scope is not declared in the privacy agreement', errno: 112 }, modals: [true] });
  const page = renderPage('pages/index/index', wx, { getToken: async () => null });
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items.length === 2 && page.data.items.every((i) => i.state === 'failed'), 'both fail');
  const byName = (name) => page.data.items.find((i) => i.name === name);
  assert.equal(byName('a.pdf').message, '网络不可用，请检查网络后重试');
  assert.equal(byName('a.pdf').retryable, true);
  assert.equal(byName('a.pdf').support, '', 'nothing for support to trace in a dropped connection');
  assert.equal(byName('b.pdf').message, '登录已过期，请重新进入小程序');
  assert.equal(byName('b.pdf').retryable, false, 'no 重试 beside 请重新进入小程序');
  page.querySelector(`#item-${byName('b.pdf').id} .copy`).dispatchEvent('tap');
  await waitFor(() => wx.calls.modals.length === 1, 'shown in a dialog instead');
  assert.match(wx.calls.modals[0].content, /^错误码：Unauthorized/);
});

test('开发版 keeps the developer hints: OSS\'s own Message and the RequestId', { timeout: 15000 }, async () => {
  const file = pickedFile(tmp.dir, 'a.png', 1000);
  fake.oss = () => ({ status: 403, body: ossErrorXml('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.', 'REQ-DEV') });
  const page = renderPage('pages/index/index', pageWx([[messageFile(file, 'image')]], {}, { envVersion: 'develop' }));
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'failed', 'upload fails');
  assert.match(text(page), /签名不匹配：OSS 算出的签名与表单中的不一致，请检查服务端的 AccessKey、地域（region）和签名代码/);
  assert.match(text(page), /The request signature we calculated/);
  assert.match(text(page), /RequestId：REQ-DEV/);
  assert.equal(page.querySelectorAll('.copy').length, 0);
});

test('a quota refusal (403 QuotaExceeded): 存储空间已满 with the numbers from /api/usage, and 去我的文件; nothing reaches OSS', { timeout: 15000 }, async () => {
  const file = pickedFile(tmp.dir, 'a.jpg', 1000);
  fake.signer = () => apiError(403, 'QuotaExceeded', 'quota 1073741824 bytes, used 1048576000 (server wording, not parsed)');
  fake.usage = () => ({ status: 200, json: { usedBytes: 1000 * 1024 * 1024, fileCount: 12, reservedBytes: 0, quotaBytes: 1024 ** 3, quotaFiles: 0 } });
  const wx = pageWx([[messageFile(file, 'image')]], {}, { envVersion: 'release' });
  const page = renderPage('pages/index/index', wx);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && /已用/.test(page.data.items[0].message), 'quota message with numbers');
  assert.equal(page.data.items[0].message, '存储空间已满：已用 1000 MB / 1 GB，删除一些文件后再传');
  assert.equal(fake.received.usages.length, 1, 'a fresh look at the usage');
  assert.equal(page.querySelectorAll('.retry').length, 0);
  assert.equal(fake.received.uploads.length, 0);
  page.querySelector('.to-files').dispatchEvent('tap');
  await waitFor(() => wx.calls.switchTab.length === 1, 'switched');
  assert.deepEqual(wx.calls.switchTab, ['/pages/files/index']);
});
