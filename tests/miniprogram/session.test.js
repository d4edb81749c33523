// Login (utils/session.js) against a scripted /api/config and /api/login, through the wx double:
// real HTTP, scripted wx.login codes, storage in memory, a controllable clock.

const test = require('node:test');
const assert = require('node:assert/strict');
const { createSession, STORAGE_KEY } = require('../../miniprogram/utils/session');
const { UploadError } = require('../../miniprogram/utils/errors');
const { createWxNetwork, createWxLogin, createWxStorage } = require('./support/wx-double');
const { startFakeServers, apiError, loginRequired } = require('./support/fake-servers');
const { freePort } = require('./support/local-kit');

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

let fake;

test.beforeEach(async () => {
  fake = await startFakeServers();
  // The login tests run against a signer that wants a login; the config tests below change this.
  fake.config = loginRequired;
});

test.afterEach(async () => {
  await fake.close();
});

/** Tokens named after the code, so a test sees which login produced which token. */
function grant(expiresIn = 7200) {
  return (body) => ({ status: 200, json: { token: 'tok-' + body.code, expiresIn } });
}

function setup({ codes = ['code-a', 'code-b', 'code-c'], storage = createWxStorage(), baseUrl } = {}) {
  const net = createWxNetwork();
  const login = createWxLogin(codes);
  const clock = { now: T0 };
  const wx = { request: net.request, login: login.login, ...storage };
  const session = createSession({ wx, baseUrl: baseUrl || fake.base + '/', now: () => clock.now });
  const states = [];
  session.onChange((status) => states.push(status.state));
  return { session, login, storage, clock, net, states };
}

test('wx.login code -> POST /api/login as JSON; the token is kept in memory and storage with its expiry', { timeout: 10000 }, async () => {
  fake.login = grant(7200);
  const { session, login, storage, states } = setup();
  assert.equal(session.status().state, 'idle');
  assert.equal(await session.getToken({ refresh: false }), 'tok-code-a');
  assert.deepEqual(fake.received.logins.map((l) => l.body), [{ code: 'code-a' }]);
  assert.match(fake.received.logins[0].headers['content-type'], /^application\/json/);
  assert.equal(fake.received.configs.length, 1, '/api/config asked first, once');
  assert.deepEqual(storage.read(STORAGE_KEY), { token: 'tok-code-a', expiresAt: T0 + 7200 * 1000 });
  assert.deepEqual(states, ['pending', 'ready']);
  assert.deepEqual(session.status(), { state: 'ready', message: '', detail: '', error: null });

  assert.equal(await session.getToken({ refresh: false }), 'tok-code-a');
  assert.equal(await session.getToken(), 'tok-code-a');
  assert.equal(login.calls.count, 1, 'the token is reused, not a login per call');
  assert.equal(fake.received.logins.length, 1);
});

test('a stored token is reused on the next launch, but not within 60 s of its expiry', { timeout: 10000 }, async () => {
  fake.login = grant(7200);
  const storage = createWxStorage({ [STORAGE_KEY]: { token: 'stored', expiresAt: T0 + 61 * 1000 } });
  const first = setup({ storage });
  assert.equal(await first.session.getToken({ refresh: false }), 'stored');
  assert.equal(first.login.calls.count, 0);
  assert.equal(fake.received.logins.length, 0);
  assert.equal(first.session.status().state, 'ready');

  const later = setup({ storage });
  later.clock.now = T0 + 1000; // 60 s left: too close
  assert.equal(await later.session.getToken({ refresh: false }), 'tok-code-a');
  assert.equal(later.login.calls.count, 1);
  assert.deepEqual(storage.read(STORAGE_KEY), { token: 'tok-code-a', expiresAt: T0 + 1000 + 7200 * 1000 });
});

test('the token in memory is replaced as its expiry comes near', { timeout: 10000 }, async () => {
  fake.login = grant(300);
  const { session, clock, login } = setup();
  assert.equal(await session.getToken({ refresh: false }), 'tok-code-a');
  clock.now = T0 + 239 * 1000;
  assert.equal(await session.getToken({ refresh: false }), 'tok-code-a');
  clock.now = T0 + 240 * 1000;
  assert.equal(await session.getToken({ refresh: false }), 'tok-code-b');
  assert.equal(login.calls.count, 2);
});

test('unreadable or malformed storage means no token: log in', { timeout: 10000 }, async () => {
  fake.login = grant();
  for (const saved of ['garbage', { token: 5, expiresAt: T0 * 2 }, { token: 'x' }, null]) {
    const { session, login } = setup({ storage: createWxStorage({ [STORAGE_KEY]: saved }) });
    assert.equal(await session.getToken({ refresh: false }), 'tok-code-a', JSON.stringify(saved));
    assert.equal(login.calls.count, 1);
  }
  const broken = createWxStorage();
  broken.getStorageSync = () => {
    throw new Error('getStorageSync:fail');
  };
  broken.setStorageSync = () => {
    throw new Error('setStorageSync:fail exceed storage max size');
  };
  const { session } = setup({ storage: broken });
  assert.equal(await session.getToken({ refresh: false }), 'tok-code-a');
  assert.equal(await session.getToken({ refresh: false }), 'tok-code-a', 'kept in memory when storage fails');
});

test('single flight: concurrent callers share one wx.login and one POST', { timeout: 10000 }, async () => {
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  fake.login = (body) => gate.then(() => grant()(body));
  const { session, login } = setup();
  const callers = [
    session.getToken({ refresh: false }),
    session.getToken({ refresh: false }),
    session.getToken({ refresh: true }),
    session.getToken(),
  ];
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(session.status().state, 'pending');
  release();
  assert.deepEqual(await Promise.all(callers), ['tok-code-a', 'tok-code-a', 'tok-code-a', 'tok-code-a']);
  assert.equal(login.calls.count, 1);
  assert.equal(fake.received.logins.length, 1);
});

test('single flight on failure: every caller gets the same error from one attempt', { timeout: 10000 }, async () => {
  fake.login = () => ({ status: 503, json: { error: { code: 'WeChatUnavailable', message: '微信服务繁忙，请稍后再试' } } });
  const { session, login } = setup();
  const outcomes = await Promise.allSettled([session.getToken({ refresh: false }), session.getToken({ refresh: false }), session.getToken({ refresh: true })]);
  assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected', 'rejected']);
  assert.ok(outcomes.every((o) => o.reason === outcomes[0].reason));
  assert.equal(login.calls.count, 1);
});

test('refresh (after a 401) logs in anew; refreshes right after a login share its token', { timeout: 10000 }, async () => {
  fake.login = grant();
  const { session, clock, storage, login } = setup();
  assert.equal(await session.getToken({ refresh: false }), 'tok-code-a');
  clock.now += 2000;
  assert.equal(await session.getToken({ refresh: true }), 'tok-code-a', 'a 2 s old token is the fresh one');
  assert.equal(login.calls.count, 1);
  clock.now += 4000;
  assert.equal(await session.getToken({ refresh: true }), 'tok-code-b');
  assert.equal(login.calls.count, 2);
  assert.equal(storage.read(STORAGE_KEY).token, 'tok-code-b');

  // A stored token is never "fresh": the server refused it, so log in.
  const stored = createWxStorage({ [STORAGE_KEY]: { token: 'old', expiresAt: T0 + 3600 * 1000 } });
  const relaunch = setup({ storage: stored });
  assert.equal(await relaunch.session.getToken({ refresh: false }), 'old');
  assert.equal(await relaunch.session.getToken({ refresh: true }), 'tok-code-a');
});

test('a signer without /api/config, login off (404 LoginDisabled): null, remembered, stale token dropped', { timeout: 10000 }, async () => {
  fake.config = () => apiError(404, 'NotFound');
  const storage = createWxStorage({ [STORAGE_KEY]: { token: 'old', expiresAt: T0 - 1 } });
  const { session, login, states } = setup({ storage });
  assert.equal(await session.getToken({ refresh: false }), null);
  assert.equal(session.status().state, 'off');
  assert.deepEqual(states, ['pending', 'off']);
  assert.equal(storage.read(STORAGE_KEY), undefined);
  assert.equal(await session.getToken({ refresh: false }), null);
  assert.equal(await session.getToken(), null);
  assert.equal(login.calls.count, 1, 'login off is remembered');
  assert.equal(fake.received.logins.length, 1);

  // A 401 later means the server turned login on: refresh asks again.
  fake.login = grant();
  assert.equal(await session.getToken({ refresh: true }), 'tok-code-b');
  assert.equal(session.status().state, 'ready');
});

/** Expect the next login to fail: an UploadError `check` approves, shown as the failed state. */
async function expectLoginError(session, check) {
  let caught = null;
  await session.getToken({ refresh: false }).catch((err) => (caught = err));
  assert.ok(caught instanceof UploadError, String(caught));
  check(caught);
  assert.equal(session.status().state, 'failed');
  assert.equal(session.status().message, caught.message);
  assert.match(caught.message, /[\u4e00-\u9fa5]/, 'a Chinese message');
  return caught;
}

const SERVER_ERRORS = [
  { status: 401, code: 'InvalidCode', text: /微信登录凭证无效或已用过/, retryable: true },
  { status: 429, code: 'TooManyRequests', headers: { 'Retry-After': '17' }, text: /^操作太频繁，请 17 秒后再试$/, retryable: true },
  { status: 429, code: 'TooManyRequests', text: /^操作太频繁，请稍后再试$/, retryable: true },
  { status: 503, code: 'WeChatUnavailable', text: /暂时连不上微信登录服务/, retryable: true },
  { status: 502, code: 'WeChatBadResponse', text: /无法识别/, retryable: true },
  { status: 403, code: 'UserBlocked', text: /风险/, retryable: false },
  { status: 404, code: 'NotFound', text: /signerBaseUrl/, retryable: false },
];

for (const { status, code, headers, text, retryable } of SERVER_ERRORS) {
  test(`/api/login ${status} ${code}${headers ? ' with Retry-After' : ''}: a clear Chinese error, nothing kept, the next call tries again`, { timeout: 10000 }, async () => {
    fake.login = () => ({ status, headers, json: { error: { code, message: 'server says ' + code } } });
    const { session, storage, login } = setup();
    await expectLoginError(session, (err) => {
      assert.equal(err.kind, 'signer');
      assert.equal(err.code, code);
      assert.equal(err.statusCode, status);
      assert.match(err.message, text);
      assert.equal(err.detail, 'server says ' + code);
      assert.equal(err.retryable, retryable);
    });
    assert.equal(storage.read(STORAGE_KEY), undefined);
    fake.login = grant();
    assert.equal(await session.getToken({ refresh: false }), 'tok-code-b', 'a failure is not cached');
    assert.equal(login.calls.count, 2);
    assert.equal(session.status().state, 'ready');
  });
}

test('a 200 without a token is a bad answer, not a login', { timeout: 10000 }, async () => {
  fake.login = () => ({ status: 200, json: '<html>proxy page</html>' });
  const { session } = setup();
  await expectLoginError(session, (err) => assert.equal(err.code, 'BadSignerResponse'));
  fake.login = () => ({ status: 200, json: { token: '', expiresIn: 7200 } });
  await expectLoginError(session, (err) => assert.equal(err.code, 'BadSignerResponse'));
});

test('signer unreachable: a network error with 重试', { timeout: 10000 }, async () => {
  const { session } = setup({ baseUrl: `http://127.0.0.1:${await freePort()}` });
  await expectLoginError(session, (err) => {
    assert.equal(err.kind, 'network');
    assert.equal(err.retryable, true);
    assert.match(err.message, /连不上签名服务/);
    assert.match(err.detail, /^request:fail /);
  });
});

test('wx.login failing: an error of its own, nothing sent to the server', { timeout: 10000 }, async () => {
  fake.login = grant();
  const { session, login } = setup({ codes: [{ errMsg: 'login:fail timeout' }, 'code-z'] });
  await expectLoginError(session, (err) => {
    assert.equal(err.kind, 'login');
    assert.equal(err.code, 'WxLoginFailed');
    assert.equal(err.detail, 'login:fail timeout');
    assert.equal(err.retryable, true);
    assert.match(err.message, /wx\.login/);
  });
  assert.equal(fake.received.logins.length, 0);
  assert.equal(await session.getToken({ refresh: false }), 'tok-code-z');
  assert.equal(login.calls.count, 2);
});

test('onChange unsubscribes', { timeout: 10000 }, async () => {
  fake.login = grant();
  const { session } = setup();
  const seen = [];
  const stop = session.onChange((s) => seen.push(s.state));
  stop();
  await session.getToken({ refresh: false });
  assert.deepEqual(seen, []);
});

// GET /api/config before any wx.login (游客模式 or an offline wx.login must not block uploads when
// the server has login off).

test('loginRequired false: null and state off without any wx.login or /api/login; a stored token is dropped', { timeout: 10000 }, async () => {
  fake.config = () => ({ status: 200, json: { loginRequired: false, maxSize: 1, allowedExtensions: [], callback: true, multipartThreshold: null } });
  const storage = createWxStorage({ [STORAGE_KEY]: { token: 'from-a-login-on-day', expiresAt: T0 + 3600 * 1000 } });
  const { session, login, states } = setup({ storage, codes: () => { throw new Error('wx.login must not be called'); } });
  assert.equal(await session.getToken({ refresh: false }), null);
  assert.equal(await session.getToken(), null);
  assert.deepEqual(states, ['pending', 'off']);
  assert.equal(session.status().state, 'off');
  assert.equal(login.calls.count, 0);
  assert.equal(fake.received.logins.length, 0);
  assert.equal(fake.received.configs.length, 1, 'asked once, remembered');
  assert.equal(storage.read(STORAGE_KEY), undefined);
});

test('loginRequired true with a stored token: ready after /api/config, no wx.login', { timeout: 10000 }, async () => {
  const storage = createWxStorage({ [STORAGE_KEY]: { token: 'kept', expiresAt: T0 + 3600 * 1000 } });
  const { session, login, states } = setup({ storage });
  assert.equal(await session.getToken({ refresh: false }), 'kept');
  assert.deepEqual(states, ['pending', 'ready']);
  assert.equal(login.calls.count, 0);
  assert.equal(fake.received.configs.length, 1);
});

test('a 401 while login was off: straight to wx.login (the 401 says login is on), /api/config is not asked again', { timeout: 10000 }, async () => {
  fake.config = () => ({ status: 200, json: { loginRequired: false } });
  fake.login = grant();
  const { session, login } = setup();
  assert.equal(await session.getToken({ refresh: false }), null);
  assert.equal(await session.getToken({ refresh: true }), 'tok-code-a');
  assert.equal(login.calls.count, 1);
  assert.equal(fake.received.configs.length, 1);
  assert.equal(session.status().state, 'ready');
});

test('/api/config unreachable: failed with a Chinese message naming it; the next call asks again and goes on', { timeout: 10000 }, async () => {
  fake.config = () => ({ drop: true });
  fake.login = grant();
  const { session, login } = setup();
  await expectLoginError(session, (err) => {
    assert.equal(err.kind, 'network');
    assert.equal(err.code, 'ConfigUnavailable');
    assert.equal(err.retryable, true);
    assert.match(err.message, /连不上签名服务，读不到服务端配置（\/api\/config）/);
    assert.match(err.message, /重试/);
    assert.match(err.detail, /^request:fail /);
  });
  assert.equal(login.calls.count, 0, 'no wx.login before the config is known');
  fake.config = loginRequired;
  assert.equal(await session.getToken({ refresh: false }), 'tok-code-a');
  assert.equal(fake.received.configs.length, 2);
});

test('/api/config timing out, failing or answering nonsense: each a clear Chinese error', { timeout: 10000 }, async () => {
  fake.config = () => new Promise(() => {});
  const net = createWxNetwork({ timeoutMs: 200 });
  const slow = createSession({ wx: { request: net.request, ...createWxLogin([]), ...createWxStorage() }, baseUrl: fake.base });
  await expectLoginError(slow, (err) => assert.match(err.message, /^连接签名服务超时，读不到服务端配置/));

  fake.config = () => apiError(503, 'RateLimitUnavailable');
  const { session } = setup();
  await expectLoginError(session, (err) => {
    assert.equal(err.code, 'RateLimitUnavailable');
    assert.equal(err.statusCode, 503);
  });
  fake.config = () => ({ status: 200, json: '<html>portal</html>' });
  await expectLoginError(session, (err) => assert.equal(err.code, 'BadSignerResponse'));
  fake.config = () => ({ status: 200, json: { loginRequired: 'yes' } });
  await expectLoginError(session, (err) => assert.equal(err.code, 'BadSignerResponse'));
});

test('/api/config from a host outside request合法域名: the domain message', { timeout: 10000 }, async () => {
  const net = createWxNetwork({ allowedHosts: ['signer.example.com'] });
  const session = createSession({ wx: { request: net.request, ...createWxLogin([]), ...createWxStorage() }, baseUrl: fake.base });
  await expectLoginError(session, (err) => {
    assert.equal(err.kind, 'domain');
    assert.match(err.message, /request合法域名/);
  });
  assert.equal(fake.received.configs.length, 0);
});
