// utils/error-view.js: which build speaks how, and what 复制错误信息 may carry.

const test = require('node:test');
const assert = require('node:assert/strict');
const { isDeveloperBuild, errorView, isUnreachable } = require('../../miniprogram/utils/error-view');
const { UploadError, failureError } = require('../../miniprogram/utils/errors');

const account = (envVersion) => ({ getAccountInfoSync: () => ({ miniProgram: { envVersion } }) });

test('开发版 only for envVersion develop; trial, release, an old base library or a throwing API speak to users', () => {
  assert.equal(isDeveloperBuild(account('develop')), true);
  assert.equal(isDeveloperBuild(account('trial')), false);
  assert.equal(isDeveloperBuild(account('release')), false);
  assert.equal(isDeveloperBuild({}), false);
  assert.equal(isDeveloperBuild(account(undefined)), false);
  assert.equal(isDeveloperBuild({ getAccountInfoSync: () => { throw new Error('no'); } }), false);
});

test('the copied detail has codes and ids, never a URL or errMsg; none for a dropped connection', () => {
  const at = () => new Date('2026-12-06T02:15:32Z');
  const domain = failureError('request', 'https://signer.example.com/api/files?token=x', { errMsg: 'request:fail url not in domain list' }, false);
  const view = errorView(domain, { action: 'list', developer: false, now: at });
  assert.equal(view.message, '暂时连不上服务，请稍后重试');
  assert.equal(view.support, '错误码：UrlNotInDomainList\n时间：2026-12-06T02:15:32.000Z');
  assert.doesNotMatch(view.support + view.message + view.detail, /example|token|errMsg|fail/);
  assert.equal(isUnreachable(domain), true);

  const network = failureError('uploadFile', 'https://bucket.example.com', { errMsg: 'uploadFile:fail timeout' }, false);
  assert.deepEqual(errorView(network, { action: 'upload', developer: false }), { message: '网络不可用，请检查网络后重试', detail: '', requestId: '', support: '' });
  assert.equal(errorView(network, { action: 'upload', developer: true }).detail, 'uploadFile:fail timeout');
});

test('a server error reads by what the user was doing; 请重新进入小程序 never stands beside a working 重试', () => {
  const refused = new UploadError({ kind: 'signer', code: 'SomethingNew', message: 'x', statusCode: 400 });
  assert.equal(errorView(refused, { action: 'list', developer: false }).message, '文件列表没有加载出来，请稍后重试');
  assert.equal(errorView(refused, { action: 'delete', developer: false }).message, '没能删除，请稍后重试');
  const busy = new UploadError({ kind: 'signer', code: 'DatabaseUnavailable', message: 'x', statusCode: 503 });
  assert.equal(errorView(busy, { action: 'upload', developer: false }).message, '服务暂时不可用，请稍后重试');
  assert.equal(isUnreachable(busy), false, 'the server answered');
  const expired = new UploadError({ kind: 'signer', code: 'Unauthorized', message: '登录已失效，请重新进入小程序后再试', statusCode: 401 });
  assert.equal(errorView(expired, { action: 'upload', developer: false }).message, '登录已过期，请重新进入小程序');
  assert.equal(errorView(expired, { action: 'list', developer: false, retry: true }).message, '登录已过期，请点「重试」重新登录');
  assert.equal(errorView(expired, { action: 'list', developer: true, retry: true }).message, '登录已过期，请点「重试」重新登录');
});
