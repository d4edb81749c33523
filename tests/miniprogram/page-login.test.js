// The real app.js and upload page, rendered headlessly: /api/config then login at launch,
// 未登录 / 重试, no upload before a login the server requires, and no wx.login when it requires none.

const test = require('node:test');
const assert = require('node:assert/strict');
const { renderPage, launchApp, waitFor, attrsOf } = require('./support/page-env');
const { pageWx, messageFile } = require('./support/page-wx');
const { freshServersEachTest, loginRequired } = require('./support/fake-servers');
const { pickedFile } = require('./support/files');
const config = require('../../miniprogram/config');

let fake;
let tmp;
freshServersEachTest(test, (env) => ({ fake, tmp } = env), { config });

test.beforeEach(() => {
  // This signer requires login: /api/config says so, and only tokens it issued sign.
  fake.config = loginRequired;
  const sign = fake.signer;
  fake.signer = (query, headers, n) =>
    /^Bearer tok-/.test(headers.authorization || '') ? sign(query, headers, n) : { status: 401, json: { error: { code: 'Unauthorized', message: '请先登录' } } };
});

const text = (comp) => comp.dom.textContent;
const grant = (body) => ({ status: 200, json: { token: 'tok-' + body.code, expiresIn: 7200 } });

function actionsDisabled(page) {
  return attrsOf(page, 'action').map((a) => a.disabled);
}

test('login fails at launch: 未登录 with the reason and 重试; no upload starts; 重试 logs in, uploads carry the token', { timeout: 15000 }, async () => {
  fake.login = () => ({ status: 503, json: { error: { code: 'WeChatUnavailable', message: '微信服务繁忙，请稍后再试' } } });
  const file = pickedFile(tmp.dir, 'photo.jpg', 2000);
  const wx = pageWx([[messageFile(file, 'image')]], {}, { codes: ['code-1', 'code-2'] });
  const app = launchApp(wx);
  const page = renderPage('pages/index/index', wx, app);

  await waitFor(() => page.data.login.state === 'failed', '未登录 shown');
  assert.match(text(page), /未登录/);
  assert.match(text(page), /暂时连不上微信登录服务/);
  assert.ok(page.querySelector('#login-retry'), 'a 重试 button');
  assert.equal(page.data.loginBlocked, true);
  assert.deepEqual(actionsDisabled(page), [true, true], 'pick buttons disabled');

  // Even a tap that gets through starts nothing.
  page.querySelector('#choose-file').dispatchEvent('tap');
  page.querySelector('#choose-media').dispatchEvent('tap');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(wx.calls.chooseMessageFile.length, 0);
  assert.equal(wx.calls.chooseMedia.length, 0);
  assert.deepEqual(wx.calls.toasts.map((t) => t.title), ['请先登录：登录成功后才能上传', '请先登录：登录成功后才能上传']);
  assert.equal(fake.received.signatures.length, 0);

  fake.login = grant;
  page.querySelector('#login-retry').dispatchEvent('tap');
  await waitFor(() => page.data.login.state === 'ready', 'logged in after 重试');
  assert.deepEqual(fake.received.logins.map((l) => l.body), [{ code: 'code-1' }, { code: 'code-2' }]);
  assert.equal(page.querySelector('#login-failed'), undefined);
  assert.doesNotMatch(text(page), /未登录/);
  assert.equal(page.data.loginBlocked, false);
  assert.deepEqual(actionsDisabled(page), [false, false]);

  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'success', 'upload succeeds');
  assert.deepEqual(fake.received.signatures.map((s) => s.headers.authorization), ['Bearer tok-code-2']);
  assert.equal(wx.calls.login.count, 2);
  assert.equal(wx.read('oss-upload.session').token, 'tok-code-2', 'kept for the next launch');
});

test('while logging in the buttons wait; login off on the server enables them and uploads go without a token', { timeout: 15000 }, async () => {
  let answer;
  fake.login = () => new Promise((resolve) => (answer = resolve));
  fake.signer = (query) => ({
    status: 200,
    json: { host: fake.ossHost, key: 'uploads/x/' + query.get('filename'), expire: '2099-01-01T00:00:00.000Z', maxSize: 1e6, formData: { key: 'uploads/x/' + query.get('filename') } },
  });
  const file = pickedFile(tmp.dir, 'a.txt', 10);
  const wx = pageWx([[messageFile(file, 'file')]], {}, { codes: ['code-1'] });
  const page = renderPage('pages/index/index', wx, launchApp(wx));
  await waitFor(() => answer, 'login request in flight');
  assert.equal(page.data.login.state, 'pending');
  assert.match(text(page), /正在连接服务…/);
  assert.equal(page.querySelector('#disabled-why').dom.textContent, '正在连接服务，连上后就能选择文件', 'the disabled pickers say why');
  assert.deepEqual(actionsDisabled(page), [true, true]);

  answer({ status: 404, json: { error: { code: 'LoginDisabled', message: '服务端未开启登录（本地模式），无需登录即可上传' } } });
  await waitFor(() => page.data.login.state === 'off', 'login off');
  assert.doesNotMatch(text(page), /正在连接|未登录/);
  assert.deepEqual(actionsDisabled(page), [false, false]);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'success', 'upload succeeds');
  assert.equal(fake.received.signatures[0].headers.authorization, undefined);
  assert.equal(wx.calls.login.count, 1);
});

test('a stored token from the last launch: ready at once, no wx.login', { timeout: 15000 }, async () => {
  const wx = pageWx([], {}, { codes: [] });
  wx.setStorageSync('oss-upload.session', { token: 'tok-saved', expiresAt: Date.now() + 3600 * 1000 });
  const page = renderPage('pages/index/index', wx, launchApp(wx));
  await waitFor(() => page.data.login.state === 'ready', 'ready');
  assert.equal(wx.calls.login.count, 0);
  assert.equal(fake.received.logins.length, 0);
  assert.equal(fake.received.configs.length, 1, 'the server was asked whether it wants a login');
  assert.equal(page.data.loginBlocked, false);
});

test('login off in /api/config: wx.login is never called (游客模式 or offline), uploads go without a token', { timeout: 15000 }, async () => {
  fake.config = () => ({ status: 200, json: { loginRequired: false, maxSize: 1e6, allowedExtensions: [], callback: false, multipartThreshold: null } });
  const sign = fake.signer;
  fake.signer = (query, headers, n) => sign(query, { ...headers, authorization: 'Bearer tok-any' }, n);
  const file = pickedFile(tmp.dir, 'a.txt', 10);
  const wx = pageWx([[messageFile(file, 'file')]], {}, { codes: () => { throw new Error('wx.login must not be called'); } });
  const page = renderPage('pages/index/index', wx, launchApp(wx));
  await waitFor(() => page.data.login.state === 'off', 'login off');
  assert.deepEqual(actionsDisabled(page), [false, false]);
  page.querySelector('#choose-file').dispatchEvent('tap');
  await waitFor(() => page.data.items[0] && page.data.items[0].state === 'success', 'upload succeeds');
  assert.equal(fake.received.signatures[0].headers.authorization, undefined);
  assert.equal(wx.calls.login.count, 0);
  assert.equal(fake.received.logins.length, 0);
});

test('/api/config unreachable at launch: 未登录 with the reason; 重试 asks again and, with login off, uploads work', { timeout: 15000 }, async () => {
  fake.config = () => ({ drop: true });
  const wx = pageWx([], {}, { codes: () => { throw new Error('wx.login must not be called'); } });
  const page = renderPage('pages/index/index', wx, launchApp(wx));
  await waitFor(() => page.data.login.state === 'failed', '未登录 shown');
  assert.equal(page.querySelector('.banner-title').dom.textContent, '连不上服务', 'a server that cannot be reached is not 未登录');
  assert.match(text(page), /连不上签名服务，读不到服务端配置/, '开发版: the developer message');
  assert.deepEqual(actionsDisabled(page), [true, true]);
  assert.match(page.querySelector('#disabled-why').dom.textContent, /连上服务后才能选择文件/);

  fake.config = () => ({ status: 200, json: { loginRequired: false } });
  page.querySelector('#login-retry').dispatchEvent('tap');
  await waitFor(() => page.data.login.state === 'off', 'login off after 重试');
  assert.equal(page.querySelector('#login-failed'), undefined);
  assert.equal(page.querySelector('#disabled-why'), undefined);
  assert.deepEqual(actionsDisabled(page), [false, false]);
  assert.equal(fake.received.configs.length, 2);
  assert.equal(wx.calls.login.count, 0);
});

test('the page stops listening when it unloads', { timeout: 15000 }, async () => {
  let answer;
  fake.login = () => new Promise((resolve) => (answer = resolve));
  const wx = pageWx([], {}, { codes: ['code-1'] });
  const app = launchApp(wx);
  const page = renderPage('pages/index/index', wx, app);
  await waitFor(() => answer, 'login request in flight');
  page.detach();
  answer({ status: 401, json: { error: { code: 'InvalidCode', message: 'x' } } });
  await waitFor(() => app.loginStatus().state === 'failed', 'login failed');
  assert.equal(page.data.login.state, 'pending', 'a detached page is not updated');
});

test('正式版: the login banner speaks plainly (no API path, setting or code file), with the codes behind 复制错误信息', { timeout: 15000 }, async () => {
  fake.config = () => ({ drop: true });
  const wx = pageWx([], {}, { envVersion: 'release', codes: ['code-1'] });
  const page = renderPage('pages/index/index', wx, launchApp(wx));
  await waitFor(() => page.data.login.state === 'failed', 'failed');
  assert.equal(page.querySelector('.banner-title').dom.textContent, '连不上服务');
  assert.equal(page.querySelector('.banner-message').dom.textContent, '网络不可用，请检查网络后重试');
  assert.doesNotMatch(text(page), /api|config|signerBaseUrl|未登录/i);

  // A refusal the server did answer: 未登录, and its code can be copied for support.
  fake.config = loginRequired;
  fake.login = () => ({ status: 403, json: { error: { code: 'UserBlocked', message: 'risky user' } } });
  page.querySelector('#login-retry').dispatchEvent('tap');
  await waitFor(() => page.data.login.message === '当前账号暂时不能使用这个功能', 'refused');
  assert.equal(page.querySelector('.banner-title').dom.textContent, '未登录');
  page.querySelector('#login-failed .link').dispatchEvent('tap');
  await waitFor(() => wx.calls.clipboard.length === 1, 'copied');
  assert.match(wx.calls.clipboard[0], /^错误码：UserBlocked\nHTTP 状态：403\n时间：/);
});
