// The emulator as ali-oss (Alibaba Cloud's Node SDK) sees it, started alone (`python -m oss_emulator`):
// ali-oss's defaults (V1 signatures; to an IP endpoint it sends `/<key>` and signs `/<bucket>/<key>`),
// then V4. One emulator for the file. ali-oss presigns only for a host name, so presigned URLs are made
// for `localhost` in CNAME style and fetched from 127.0.0.1 (V1 and V4 do not sign the host).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const OSS = require('ali-oss');
const { pythonBin, baseEnv, get } = require('./support/local-kit');
const { makeTempDir } = require('./support/files');

const BUCKET = 'ali-bucket';
const DOC = path.join(__dirname, '..', '..', 'docs', 'local-oss.md');
const KEYS = { accessKeyId: 'LTAI-local-dev-key', accessKeySecret: 'local-dev-secret-change-me' };

/** `python -m oss_emulator` on a free port; resolves once its console answers. */
async function startEmulator() {
  const storage = makeTempDir('ali-oss-emu-');
  const child = spawn(pythonBin(), ['-m', 'oss_emulator', '--port', '0', '--dir', storage.dir, '--bucket', BUCKET],
    { cwd: path.join(__dirname, '..', '..'), env: baseEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk) => { output += chunk; });
  const stop = () => { child.kill(); storage.remove(); };
  const deadline = Date.now() + 20000;
  for (;;) {
    const match = /Endpoint:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
    if (match) {
      try {
        if ((await get(`${match[1]}/-/console`)).status === 200) return { endpoint: match[1], stop, output: () => output };
      } catch {
        // not serving yet
      }
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      stop();
      throw new Error(`python -m oss_emulator did not come up:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function refused(promise, status, code) {
  await assert.rejects(promise, (error) => {
    assert.equal(error.status, status, error.message);
    assert.equal(error.code, code);
    return true;
  });
}

test('ali-oss against the standalone emulator', async (t) => {
  const emu = await startEmulator();
  t.after(emu.stop);
  assert.match(emu.output(), /AccessKeyId:\s+LTAI-local-dev-key/);
  const port = new URL(emu.endpoint).port;
  const client = new OSS({ ...KEYS, endpoint: emu.endpoint, bucket: BUCKET, region: 'oss-cn-hangzhou', timeout: 10000 });
  const named = (extra) => new OSS({ ...KEYS, endpoint: `http://localhost:${port}`, cname: true, bucket: BUCKET,
    region: 'oss-cn-hangzhou', ...extra });
  const local = (url) => url.replace(`//localhost:${port}`, `//127.0.0.1:${port}`);

  await t.test('put, get, head and CRC-64 with V1 signatures', async () => {
    const put = await client.put('ali/a 文件.txt', Buffer.from('hello ali'), { mime: 'text/plain', meta: { owner: 'me' } });
    assert.equal(put.res.status, 200);
    assert.match(put.res.headers['x-oss-hash-crc64ecma'], /^\d+$/);
    const got = await client.get('ali/a 文件.txt');
    assert.equal(got.content.toString(), 'hello ali');
    assert.equal(got.res.headers['x-oss-hash-crc64ecma'], put.res.headers['x-oss-hash-crc64ecma']);
    const head = await client.head('ali/a 文件.txt');
    assert.equal(head.meta.owner, 'me');
    await refused(client.get('ali/none.txt'), 404, 'NoSuchKey');
    await refused(client.get('ali/a 文件.txt', { headers: { 'If-Match': '"0000"' } }), 412, 'PreconditionFailed');
    await refused(client.put('ali/a 文件.txt', Buffer.from('again'), { headers: { 'x-oss-forbid-overwrite': 'true' } }),
      409, 'FileAlreadyExists');
  });

  await t.test('list, listV2, copy, ACL and deleteMulti', async () => {
    for (const name of ['ali/l/a.txt', 'ali/l/b.txt', 'ali/l/d/c.txt']) await client.put(name, Buffer.from('x'));
    const v1 = await client.list({ prefix: 'ali/l/', delimiter: '/', 'max-keys': 10 });
    assert.deepEqual(v1.objects.map((o) => o.name), ['ali/l/a.txt', 'ali/l/b.txt']);
    assert.deepEqual(v1.prefixes, ['ali/l/d/']);
    const first = await client.listV2({ prefix: 'ali/l/', 'max-keys': 2 });
    assert.equal(first.isTruncated, true);
    const rest = await client.listV2({ prefix: 'ali/l/', 'continuation-token': first.nextContinuationToken });
    assert.deepEqual([...first.objects, ...rest.objects].map((o) => o.name), ['ali/l/a.txt', 'ali/l/b.txt', 'ali/l/d/c.txt']);

    assert.equal((await client.copy('ali/copy.txt', 'ali/l/a.txt')).res.status, 200);
    await client.putACL('ali/copy.txt', 'public-read');
    assert.equal((await client.getACL('ali/copy.txt')).acl, 'public-read');
    const anonymous = await fetch(`${emu.endpoint}/${BUCKET}/ali/copy.txt`);
    assert.equal(await anonymous.text(), 'x');
    const deleted = await client.deleteMulti(['ali/copy.txt', 'ali/l/a.txt']);
    assert.deepEqual(deleted.deleted.map((d) => d.Key).sort(), ['ali/copy.txt', 'ali/l/a.txt']);
    await refused(client.head('ali/copy.txt'), 404, 'NoSuchKey');
  });

  await t.test('multipart, listParts and listUploads', async () => {
    const init = await client.initMultipartUpload('ali/mp.bin');
    const chunks = [Buffer.alloc(100 * 1024, 'p'), Buffer.from('tail')];
    const parts = [];
    for (const [i, chunk] of chunks.entries()) {
      const part = await client.uploadPart('ali/mp.bin', init.uploadId, i + 1, chunk, 0, chunk.length);
      parts.push({ number: i + 1, etag: part.etag });
    }
    const listed = await client.listParts('ali/mp.bin', init.uploadId);
    assert.deepEqual(listed.parts.map((p) => p.PartNumber), ['1', '2']);
    const uploads = await client.listUploads({ prefix: 'ali/' });
    assert.deepEqual(uploads.uploads.map((u) => u.uploadId), [init.uploadId]);
    const done = await client.completeMultipartUpload('ali/mp.bin', init.uploadId, parts);
    assert.equal(done.res.status, 200);
    assert.deepEqual((await client.get('ali/mp.bin')).content, Buffer.concat(chunks));
  });

  await t.test('listBuckets, bucket info, location and ACL, and what the emulator does not model is 501, not a misread', async () => {
    const listed = await client.listBuckets();
    assert.deepEqual(listed.buckets.map((b) => [b.name, b.region]), [[BUCKET, 'oss-cn-hangzhou']]);
    assert.equal((await client.listBuckets({ prefix: 'zz' })).buckets, null); // ali-oss's word for none
    assert.equal((await client.getBucketInfo(BUCKET)).bucket.Name, BUCKET);
    assert.equal((await client.getBucketLocation(BUCKET)).location, 'oss-cn-hangzhou');
    assert.equal((await client.getBucketACL(BUCKET)).acl, 'private');
    await client.put('ali/tagged.txt', Buffer.from('body'));
    await refused(client.getObjectTagging('ali/tagged.txt'), 501, 'NotImplemented');
    await refused(client.putSymlink('ali/link.txt', 'ali/tagged.txt'), 501, 'NotImplemented');
    await refused(client.head('ali/link.txt'), 404, 'NoSuchKey');
  });

  await t.test('put with the callback option: the receiver is called and its answer is the result', async () => {
    const calls = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => { body += chunk; });
      req.on('end', () => {
        calls.push({ url: req.url, body, signed: Boolean(req.headers.authorization && req.headers['x-oss-pub-key-url']) });
        const answer = JSON.stringify({ recorded: true });
        // OSS refuses a callback answer without Content-Length (203, as the emulator does).
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(answer) });
        res.end(answer);
      });
    });
    await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    t.after(() => receiver.close());
    const put = await client.put('ali/cb.txt', Buffer.from('called back'), {
      callback: {
        url: `http://127.0.0.1:${receiver.address().port}/cb`,
        body: 'object=${object}&size=${size}&who=${x:who}',
        customValue: { who: 'ali' },
      },
    });
    assert.deepEqual(put.data, { recorded: true });
    assert.equal(calls.length, 1);
    assert.equal(calls[0].body, 'object=ali%2Fcb.txt&size=11&who=ali');
    assert.ok(calls[0].signed, "carries OSS's signature headers (the Python tests verify the signature itself)");
  });

  await t.test('presigned V1 and V4 URLs, V4 headers, and refusals', async () => {
    const url = local(named().signatureUrl('ali/a 文件.txt', { expires: 60 }));
    assert.match(url, /OSSAccessKeyId=/);
    assert.equal(await (await fetch(url)).text(), 'hello ali');
    const tampered = await fetch(url.replace('%E6%96%87', '%E6%96%88'));
    assert.equal(tampered.status, 403);
    const v4 = named({ authorizationV4: true });
    const v4url = local(await v4.signatureUrlV4('GET', 60, undefined, 'ali/a 文件.txt'));
    assert.equal(await (await fetch(v4url)).text(), 'hello ali');
    const v4client = new OSS({ ...KEYS, endpoint: emu.endpoint, bucket: BUCKET, region: 'oss-cn-hangzhou',
      authorizationV4: true });
    await v4client.put('ali/v4.txt', Buffer.from('v4'));
    assert.equal((await v4client.get('ali/v4.txt')).content.toString(), 'v4');
    const wrong = new OSS({ ...KEYS, accessKeySecret: 'not-it', endpoint: emu.endpoint, bucket: BUCKET,
      region: 'oss-cn-hangzhou' });
    await refused(wrong.get('ali/v4.txt'), 403, 'SignatureDoesNotMatch');
    // The emulator's address is this bucket's own host: a request signed for another bucket fails as on OSS.
    const other = new OSS({ ...KEYS, endpoint: emu.endpoint, bucket: 'another-bucket', region: 'oss-cn-hangzhou' });
    await refused(other.get('ali/v4.txt'), 403, 'SignatureDoesNotMatch');
  });

  await t.test('the ali-oss snippet of docs/local-oss.md runs as written', async () => {
    const [, code] = /```js\n([\s\S]*?)```/.exec(fs.readFileSync(DOC, 'utf8'));
    const adapted = code.replace('http://127.0.0.1:5001', emu.endpoint).replace("bucket: 'local-bucket'", `bucket: '${BUCKET}'`);
    assert.notEqual(adapted, code);
    const names = await new Function('require', `${adapted}\nreturn demo();`)(require);
    assert.ok(names.includes('demo/ali.txt'), String(names));
  });
});
