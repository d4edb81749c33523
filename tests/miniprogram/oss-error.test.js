const test = require('node:test');
const assert = require('node:assert/strict');
const { parseOssError } = require('../../miniprogram/utils/oss-error');
const messages = require('../../miniprogram/utils/messages');

test('parses the Code, Message and RequestId of an OSS error document', () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>AccessDenied</Code>
  <Message>Invalid according to Policy: Policy Condition failed: [&quot;eq&quot;, &quot;$key&quot;, &quot;a&amp;b&quot;]</Message>
  <RequestId>5C3D9175B6FC201293AD4890</RequestId>
  <HostId>bucket.oss-cn-hangzhou.aliyuncs.com</HostId>
  <EC>0002-00000902</EC>
</Error>`;
  assert.deepEqual(parseOssError(xml), {
    code: 'AccessDenied',
    message: 'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "a&b"]',
    requestId: '5C3D9175B6FC201293AD4890',
  });
});

test('decodes numeric entities and CDATA', () => {
  const xml = '<Error><Code>InvalidArgument</Code><Message><![CDATA[bad <key>]]></Message><RequestId>&#x41;&#66;</RequestId></Error>';
  assert.deepEqual(parseOssError(xml), { code: 'InvalidArgument', message: 'bad <key>', requestId: 'AB' });
});

test('returns null for anything that is not an OSS error', () => {
  for (const body of ['', '{"error": 1}', '<PostResponse><Key>a</Key></PostResponse>', '<Error></Error>', null, undefined, 42]) {
    assert.equal(parseOssError(body), null, String(body));
  }
});

test('every OSS code the kit names has its own Chinese message', () => {
  for (const code of ['SignatureDoesNotMatch', 'AccessDenied', 'EntityTooLarge', 'FileAlreadyExists', 'InvalidAccessKeyId', 'SecurityTokenExpired', 'RequestTimeTooSkewed', 'InvalidPolicyDocument']) {
    const text = messages.ossMessage({ code, message: '' });
    assert.match(text, /[\u4e00-\u9fa5]/, code);
    assert.doesNotMatch(text, new RegExp(`\\(${code}\\)`), `${code} falls back to the generic text`);
  }
  assert.equal(messages.ossMessage({ code: 'AccessDenied', message: 'Invalid according to Policy: Policy expired.' }), '上传签名已过期，请重新上传');
  assert.match(messages.ossMessage({ code: 'SomethingNew', message: '' }), /SomethingNew/);
});

test('every signer error code has its own Chinese message', () => {
  for (const code of ['InvalidFilename', 'InvalidSize', 'FileTooLarge', 'ExtensionNotAllowed', 'CredentialsUnavailable', 'Unauthorized', 'TooManyRequests']) {
    assert.equal(messages.signerMessage(code, 400), messages.SIGNER_MESSAGES[code]);
    assert.match(messages.SIGNER_MESSAGES[code], /[\u4e00-\u9fa5]/);
  }
});

test('the legal-domain message names the list, the host and the doc page', () => {
  const text = messages.domainMessage('uploadFile', 'https://bucket.oss-cn-hangzhou.aliyuncs.com/path');
  assert.match(text, /uploadFile合法域名/);
  assert.match(text, /https:\/\/bucket\.oss-cn-hangzhou\.aliyuncs\.com(?!\/path)/);
  assert.match(text, /docs\/legal-domain\.md/);
  assert.match(messages.domainMessage('request', 'https://api.example.com'), /request合法域名/);
});
