// WeChat's own compilers (wcc for WXML, wcsc for WXSS) must accept every template and style.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const wcc = require('miniprogram-compiler/src/wcc');
const wcsc = require('miniprogram-compiler/src/wcsc');
const { makeTempDir } = require('./support/files');

const ROOT = path.resolve(__dirname, '../../miniprogram');

function filesWith(ext) {
  return fs
    .readdirSync(ROOT, { recursive: true })
    .filter((f) => f.endsWith(ext))
    .map((f) => f.split(path.sep).join('/').slice(0, -ext.length))
    .sort();
}

function compileWxss(root, files) {
  // wcsc returns (not throws) its Error.
  const result = wcsc(root, files, {});
  if (result instanceof Error) throw result;
  return result;
}

test('every WXML file compiles with wcc', () => {
  const files = filesWith('.wxml');
  assert.ok(files.includes('pages/index/index'));
  assert.ok(files.includes('pages/files/index'));
  for (const file of files) {
    assert.doesNotThrow(() => wcc(ROOT, [file], [], {}), file);
  }
  const all = wcc(ROOT, files, [], {});
  assert.match(all, /\$gwx/);
});

test('every WXSS file compiles with wcsc', () => {
  const files = filesWith('.wxss');
  assert.deepEqual(files, ['app', 'pages/files/index', 'pages/index/index']);
  for (const file of files) {
    assert.doesNotThrow(() => compileWxss(ROOT, [file]), file);
  }
  assert.ok(compileWxss(ROOT, files).comm);
});

test('the compilers do reject broken files', () => {
  const tmp = makeTempDir('mp-compile-');
  try {
    fs.writeFileSync(path.join(tmp.dir, 'a.wxml'), '<view wx:if="{{ok}}">{{ item </view>');
    fs.writeFileSync(path.join(tmp.dir, 'b.wxml'), '<view><text>x</view>');
    fs.writeFileSync(path.join(tmp.dir, 'c.wxss'), '.a { color: red; ');
    assert.throws(() => wcc(tmp.dir, ['a'], [], {}), /a\.wxml/);
    assert.throws(() => wcc(tmp.dir, ['b'], [], {}), /b\.wxml/);
    assert.throws(() => compileWxss(tmp.dir, ['c']), /c\.wxss/);
  } finally {
    tmp.remove();
  }
});
