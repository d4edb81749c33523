// 我的文件 (pages/files/index), rendered headlessly, driven by taps and page events, against the
// fake signer's /api/files and the fake OSS's presigned reads.

const test = require('node:test');
const assert = require('node:assert/strict');
const { renderPage, waitFor, attrsOf } = require('./support/page-env');
const { pageWx } = require('./support/page-wx');
const { freshServersEachTest, apiError } = require('./support/fake-servers');
const config = require('../../miniprogram/config');

let fake;
let tmp;
freshServersEachTest(test, (env) => ({ fake, tmp } = env), { config });

const text = (comp) => comp.dom.textContent;
const app = { getToken: async () => null };

function open(more = {}) {
  const wx = pageWx([], { downloadDir: tmp.dir }, more);
  const page = renderPage('pages/files/index', wx, app);
  return { wx, page };
}

/** The rendered rows' names, top to bottom. */
function names(page) {
  return page.querySelectorAll('.name').map((n) => n.dom.textContent);
}

/** `2026-12-01T10:00:00Z` in this machine's time zone, as the page shows it. */
function localTime(iso) {
  const d = new Date(iso);
  const two = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

test('the list: thumbnail for images, a badge for documents, name, size and time', { timeout: 15000 }, async () => {
  const doc = fake.addFile({ name: '年度报告.pdf', contentType: 'application/pdf', bytes: Buffer.alloc(2048), createdAt: '2026-12-01T10:00:00Z' });
  const img = fake.addFile({ name: '照片.png', contentType: 'image/png', bytes: Buffer.alloc(300), createdAt: '2026-12-02T23:59:00Z' });
  const { page } = open();
  await waitFor(() => page.data.loaded, 'loaded');
  assert.deepEqual(names(page), ['照片.png', '年度报告.pdf'], 'newest first');
  assert.equal(fake.received.lists[0].query.get('limit'), String(config.filesPageSize));
  const thumbs = attrsOf(page, 'thumb');
  assert.equal(thumbs.length, 1);
  assert.equal(thumbs[0].src, fake.listed(img).thumbnailUrl, 'the presigned thumbnail');
  assert.deepEqual(page.querySelectorAll('.badge').map((b) => b.dom.textContent), ['PDF']);
  assert.match(text(page), new RegExp(`300 B · ${localTime(img.createdAt)}`));
  assert.match(text(page), new RegExp(`2\\.0 KB · ${localTime(doc.createdAt)}`));
  assert.match(text(page), /没有更多了/);
  assert.doesNotMatch(text(page), /还没有文件/);
});

test('empty: an icon, one sentence and a primary 去上传 that switches to the upload tab', { timeout: 15000 }, async () => {
  const { wx, page } = open();
  await waitFor(() => page.data.loaded, 'loaded');
  assert.ok(page.querySelector('#files-empty'));
  assert.equal(attrsOf(page, 'empty-icon')[0].src, '/images/empty-files.png');
  assert.ok(require('node:fs').existsSync(require('node:path').join(__dirname, '../../miniprogram/images/empty-files.png')));
  assert.equal(page.querySelector('#files-empty .state-text').dom.textContent, '还没有文件，上传的文件都会保存在这里');
  const button = attrsOf(page, 'go-upload')[0];
  assert.deepEqual([button.type, page.querySelector('#go-upload').dom.textContent], ['primary', '去上传']);
  assert.equal(page.querySelectorAll('.file').length, 0);
  page.querySelector('#go-upload').dispatchEvent('tap');
  await waitFor(() => wx.calls.switchTab.length === 1, 'switched');
  assert.deepEqual(wx.calls.switchTab, ['/pages/index/index']);
});

test('a first load that fails: the Chinese reason and 重试, which loads', { timeout: 15000 }, async () => {
  fake.addFile({ name: 'a.pdf' });
  const list = fake.list;
  fake.list = () => apiError(503, 'DatabaseUnavailable');
  const { page } = open();
  await waitFor(() => page.data.error, 'error shown');
  assert.match(text(page), /文件列表没有加载出来：服务端数据库暂时不可用/);
  assert.ok(page.querySelector('#files-retry'));
  fake.list = list;
  page.querySelector('#files-retry').dispatchEvent('tap');
  await waitFor(() => page.data.loaded, 'loaded after 重试');
  assert.deepEqual(names(page), ['a.pdf']);
  assert.equal(page.querySelector('#files-error'), undefined);
});

test('pull-to-refresh: starts over with one page, shows new files, and stops the spinner', { timeout: 15000 }, async () => {
  for (let i = 1; i <= 25; i += 1) fake.addFile({ name: `f${i}.pdf` });
  const { wx, page } = open();
  await waitFor(() => page.data.loaded, 'loaded');
  page.instance.onReachBottom();
  await waitFor(() => page.data.files.length === 25, 'second page');
  fake.addFile({ name: 'new.pdf' });
  page.instance.onPullDownRefresh();
  await waitFor(() => wx.calls.stopPullDownRefresh === 1, 'spinner stopped');
  assert.equal(page.data.files.length, 20);
  assert.equal(names(page)[0], 'new.pdf');
  assert.equal(fake.received.lists.at(-1).query.get('cursor'), null);
});

test('reaching the bottom loads the next page by nextCursor, once at a time', { timeout: 15000 }, async () => {
  for (let i = 1; i <= 45; i += 1) fake.addFile({ name: `f${i}.pdf` });
  const { page } = open();
  await waitFor(() => page.data.loaded, 'loaded');
  assert.equal(page.data.files.length, 20);
  assert.match(text(page), /上拉加载更多/);
  page.instance.onReachBottom();
  page.instance.onReachBottom(); // a second event while the first runs asks nothing
  await waitFor(() => page.data.files.length === 40, 'second page');
  assert.equal(fake.received.lists.length, 2);
  assert.equal(fake.received.lists[1].query.get('cursor'), String(page.data.files[19].id));
  page.instance.onReachBottom();
  await waitFor(() => page.data.files.length === 45, 'last page');
  assert.match(text(page), /没有更多了/);
  page.instance.onReachBottom();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(fake.received.lists.length, 3, 'nothing after the last page');
});

test('tap an image: wx.previewImage with the images of the list, the tapped one current', { timeout: 15000 }, async () => {
  const a = fake.addFile({ name: 'a.jpg', contentType: 'image/jpeg' });
  fake.addFile({ name: 'doc.pdf', contentType: 'application/pdf' });
  const b = fake.addFile({ name: 'b.png', contentType: 'image/png' });
  const { wx, page } = open();
  await waitFor(() => page.data.loaded, 'loaded');
  page.querySelector(`#file-${a.id}`).dispatchEvent('tap');
  await waitFor(() => wx.calls.previews.length === 1, 'preview opened');
  assert.deepEqual(wx.calls.previews[0].urls, [fake.listed(b).url, fake.listed(a).url]);
  assert.equal(wx.calls.previews[0].current, fake.listed(a).url);
  assert.equal(wx.calls.documents.length, 0);
});

test('tap a document: downloaded and opened with its fileType and the menu; a type it cannot open says so', { timeout: 15000 }, async () => {
  const pdf = fake.addFile({ name: '合同.pdf', contentType: 'application/pdf', bytes: Buffer.from('%PDF-1.4') });
  const txt = fake.addFile({ name: 'notes.txt', contentType: 'text/plain' });
  const { wx, page } = open();
  await waitFor(() => page.data.loaded, 'loaded');
  page.querySelector(`#file-${pdf.id}`).dispatchEvent('tap');
  await waitFor(() => wx.calls.documents.length === 1, 'document opened');
  assert.equal(wx.calls.documents[0].fileType, 'pdf');
  assert.equal(wx.calls.documents[0].showMenu, true);
  assert.equal(require('node:fs').readFileSync(wx.calls.documents[0].filePath, 'utf8'), '%PDF-1.4');
  assert.equal(wx.calls.previews.length, 0);

  page.querySelector(`#file-${txt.id}`).dispatchEvent('tap');
  await waitFor(() => page.data.notice, 'notice shown');
  assert.match(text(page), /小程序不能直接打开 \.txt 文件/);
  assert.equal(fake.received.downloads.length, 1, 'the .txt was not downloaded');
});

test('a viewer that fails: a Chinese notice', { timeout: 15000 }, async () => {
  const pdf = fake.addFile({ name: 'a.pdf', contentType: 'application/pdf' });
  const { page } = open({ openDocumentFail: { errMsg: 'openDocument:fail file not found' } });
  await waitFor(() => page.data.loaded, 'loaded');
  page.querySelector(`#file-${pdf.id}`).dispatchEvent('tap');
  await waitFor(() => page.data.notice, 'notice shown');
  assert.match(text(page), /没能打开这个文件，请重试/);
});

test('long press -> ActionSheet 删除 -> confirmed -> DELETE -> gone from the list; cancel deletes nothing', { timeout: 15000 }, async () => {
  fake.addFile({ name: 'a.pdf' });
  const b = fake.addFile({ name: '旧照片.png', contentType: 'image/png' });
  const { wx, page } = open({ modals: [false, true], sheets: [1, 1] });
  await waitFor(() => page.data.loaded, 'loaded');
  assert.equal(page.querySelectorAll('.delete').length, 0, 'no delete button on the rows');
  assert.equal(page.querySelectorAll('.chevron').length, 2, 'each row shows it can be tapped');

  page.querySelector(`#file-${b.id}`).dispatchEvent('longpress');
  await waitFor(() => wx.calls.modals.length === 1, 'asked');
  assert.deepEqual(wx.calls.sheets[0].itemList, ['预览', '删除']);
  assert.equal(wx.calls.modals[0].title, '删除文件');
  assert.match(wx.calls.modals[0].content, /确定删除「旧照片\.png」吗/);
  assert.equal(wx.calls.modals[0].confirmText, '删除');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(fake.received.deletes.length, 0, 'canceled: nothing deleted');
  assert.deepEqual(names(page), ['旧照片.png', 'a.pdf']);

  page.querySelector(`#file-${b.id}`).dispatchEvent('longpress');
  await waitFor(() => page.data.files.length === 1, 'removed');
  assert.deepEqual(fake.received.deletes.map((d) => d.id), [String(b.id)]);
  assert.deepEqual(names(page), ['a.pdf']);
  assert.deepEqual(wx.calls.toasts.map((t) => t.title), ['已删除']);
  assert.equal(fake.records.length, 1);
  assert.equal(wx.calls.previews.length, 0, 'a long press is not a tap');
});

test('the ActionSheet: 打开 for a document opens it, 取消 does nothing; the last one deleted shows the empty state', { timeout: 15000 }, async () => {
  const pdf = fake.addFile({ name: 'a.pdf', contentType: 'application/pdf' });
  const { wx, page } = open({ modals: [true], sheets: [-1, 0, 1] });
  await waitFor(() => page.data.loaded, 'loaded');
  page.querySelector(`#file-${pdf.id}`).dispatchEvent('longpress');
  await waitFor(() => wx.calls.sheets.length === 1, 'sheet shown');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual([wx.calls.documents.length, wx.calls.modals.length], [0, 0]);
  page.querySelector(`#file-${pdf.id}`).dispatchEvent('longpress');
  await waitFor(() => wx.calls.documents.length === 1, 'opened');
  assert.deepEqual(wx.calls.sheets[1].itemList, ['打开', '删除']);
  page.querySelector(`#file-${pdf.id}`).dispatchEvent('longpress');
  await waitFor(() => page.data.files.length === 0, 'removed');
  assert.match(text(page), /还没有文件/);
});

test('a delete the server refuses: a Chinese notice, the file stays; one already gone leaves the list', { timeout: 15000 }, async () => {
  const a = fake.addFile({ name: 'a.pdf' });
  const b = fake.addFile({ name: 'b.pdf' });
  const { page } = open({ modals: [true, true], sheets: [1, 1] });
  await waitFor(() => page.data.loaded, 'loaded');
  const remove = fake.remove;
  fake.remove = () => apiError(503, 'StorageUnavailable');
  page.querySelector(`#file-${a.id}`).dispatchEvent('longpress');
  await waitFor(() => page.data.notice, 'notice shown');
  assert.match(text(page), /没能删除：服务端暂时连不上存储（OSS）/);
  assert.equal(page.data.files.length, 2);
  assert.equal(page.data.files.find((f) => f.id === a.id).deleting, false);

  fake.remove = remove;
  fake.records.splice(fake.records.findIndex((r) => r.id === b.id), 1); // deleted from another phone
  page.querySelector(`#file-${b.id}`).dispatchEvent('longpress');
  await waitFor(() => page.data.files.length === 1, 'removed');
  assert.equal(page.data.notice, '');
});

test('URLs that expired while the page stayed open are fetched again before a preview', { timeout: 15000 }, async () => {
  const img = fake.addFile({ name: 'a.png', contentType: 'image/png' });
  const { wx, page } = open();
  await waitFor(() => page.data.loaded, 'loaded');
  const firstUrl = fake.listed(img).url;
  fake.urlGeneration += 1; // OSS now refuses the old signatures
  const realNow = Date.now;
  Date.now = () => realNow() + 11 * 60 * 1000; // 11 minutes later: past the 600 s URLs
  try {
    page.querySelector(`#file-${img.id}`).dispatchEvent('tap');
    await waitFor(() => wx.calls.previews.length === 1, 'preview opened');
  } finally {
    Date.now = realNow;
  }
  assert.equal(fake.received.lists.length, 2, 'fetched again before use');
  assert.notEqual(wx.calls.previews[0].current, firstUrl);
  assert.equal(wx.calls.previews[0].current, fake.listed(img).url);
  assert.equal(attrsOf(page, 'thumb')[0].src, fake.listed(img).thumbnailUrl, 'the thumbnail is the new one too');
});

test('a document link OSS refuses as expired is fetched again once, then opened', { timeout: 15000 }, async () => {
  const pdf = fake.addFile({ name: 'a.pdf', contentType: 'application/pdf' });
  const { wx, page } = open();
  await waitFor(() => page.data.loaded, 'loaded');
  fake.urlGeneration += 1; // expired early (the credentials behind it did), still fresh by the clock
  page.querySelector(`#file-${pdf.id}`).dispatchEvent('tap');
  await waitFor(() => wx.calls.documents.length === 1, 'opened after the refresh');
  assert.equal(fake.received.downloads.length, 2);
  assert.equal(fake.received.lists.length, 2);
  assert.equal(page.data.notice, '');

  fake.urlGeneration += 1;
  const list = fake.list;
  fake.list = (q) => {
    fake.urlGeneration -= 1; // the refreshed list is stale too: give up after one refresh
    const answer = list(q);
    fake.urlGeneration += 1;
    return answer;
  };
  page.querySelector(`#file-${pdf.id}`).dispatchEvent('tap');
  await waitFor(() => page.data.notice, 'notice shown');
  assert.match(text(page), /文件链接已过期或无权访问/);
  assert.equal(fake.received.lists.length, 3, 'one refresh, not a loop');
});

test('a thumbnail that fails to load refreshes the list once, not in a loop', { timeout: 15000 }, async () => {
  fake.addFile({ name: 'a.png', contentType: 'image/png' });
  const { page, wx } = open();
  await waitFor(() => page.data.loaded, 'loaded');
  fake.urlGeneration += 1;
  page.querySelector('.thumb').dispatchEvent('error', { detail: { errMsg: 'GET 403' } });
  await waitFor(() => fake.received.lists.length === 2, 'refreshed');
  await waitFor(() => attrsOf(page, 'thumb')[0].src.includes('gen2'), 'new thumbnail URL');
  page.querySelector('.thumb').dispatchEvent('error', { detail: { errMsg: 'GET 403' } });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(fake.received.lists.length, 2, 'a second failure does not refresh again');

  page.instance.onPullDownRefresh(); // the user's own refresh re-arms it
  await waitFor(() => fake.received.lists.length === 3, 'pulled');
  await waitFor(() => wx.calls.stopPullDownRefresh === 1, 'pull finished'); // not while it is still loading
  page.querySelector('.thumb').dispatchEvent('error', { detail: { errMsg: 'GET 403' } });
  await waitFor(() => fake.received.lists.length === 4, 'refreshed again');
});

test('coming back to the tab shows files uploaded meanwhile', { timeout: 15000 }, async () => {
  fake.addFile({ name: 'a.pdf' });
  const { page } = open();
  await waitFor(() => page.data.loaded, 'loaded');
  fake.addFile({ name: 'b.pdf' });
  page.instance.onShow();
  await waitFor(() => page.data.files.length === 2, 'new file listed');
  assert.deepEqual(names(page), ['b.pdf', 'a.pdf']);
});

test('the usage line: 已用 120 MB / 1 GB with a quota, 已用 … without; a failing /api/usage never breaks the list', { timeout: 15000 }, async () => {
  fake.addFile({ name: 'a.pdf', bytes: Buffer.alloc(3000) });
  const usage = fake.usage;
  fake.usage = () => ({ status: 200, json: { usedBytes: 120 * 1024 * 1024, fileCount: 1, reservedBytes: 0, quotaBytes: 1024 ** 3, quotaFiles: 0 } });
  const { page } = open();
  // /api/usage and the list answer in either order; the line shows once both are in.
  await waitFor(() => page.data.usageText && page.data.files.length === 1, 'usage shown');
  assert.equal(page.querySelector('#files-usage').dom.textContent, '已用 120 MB / 1 GB');
  assert.ok(fake.received.usages[0].headers, 'asked with the same client as the list');

  fake.usage = usage; // unlimited: 0
  page.instance.onPullDownRefresh();
  await waitFor(() => page.data.usageText === '已用 2.9 KB', 'unlimited');

  fake.usage = () => ({ status: 500, json: { error: { code: 'InternalError', message: 'x' } } });
  fake.addFile({ name: 'b.pdf' });
  page.instance.onPullDownRefresh();
  await waitFor(() => page.data.files.length === 2 && page.data.usageText === '', 'list fine, no usage line');
  assert.equal(page.data.notice, '');
  assert.deepEqual(names(page), ['b.pdf', 'a.pdf']);
});

test('正式版: one plain sentence for a failed load, the same on a failed pull-to-refresh, with a 重试 that works', { timeout: 15000 }, async () => {
  fake.addFile({ name: 'a.pdf' });
  const list = fake.list;
  fake.list = () => ({ drop: true });
  const { wx, page } = open({ envVersion: 'release' });
  await waitFor(() => page.data.error, 'error shown');
  const sentence = page.querySelector('#files-error .state-text').dom.textContent;
  assert.equal(sentence, '网络不可用，请检查网络后重试');
  fake.list = list;
  page.querySelector('#files-retry').dispatchEvent('tap');
  await waitFor(() => page.data.loaded, 'loaded after 重试');

  fake.list = () => ({ drop: true });
  page.instance.onPullDownRefresh();
  await waitFor(() => wx.calls.stopPullDownRefresh === 1, 'pull finished');
  assert.equal(page.querySelector('#files-notice .notice-text').dom.textContent, sentence, 'the same words on refresh');
  fake.list = () => apiError(401, 'Unauthorized', 'token expired');
  page.querySelector('#notice-retry').dispatchEvent('tap');
  await waitFor(() => page.data.notice === '登录已过期，请点「重试」重新登录', 'no 请重新进入小程序 beside a working 重试');
  fake.list = list;
  fake.addFile({ name: 'b.pdf' });
  page.querySelector('#notice-retry').dispatchEvent('tap');
  await waitFor(() => page.data.files.length === 2 && !page.data.notice, 'refreshed by 重试');
  assert.doesNotMatch(text(page), /api|HTTP|Unauthorized/);
});
