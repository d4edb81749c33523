// Type-check the mini-program against miniprogram-api-typings and lint everything we wrote.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const { ESLint } = require('eslint');

const REPO = path.resolve(__dirname, '../..');
const MINIPROGRAM = path.join(REPO, 'miniprogram');

function run(bin, args) {
  const result = spawnSync(process.execPath, [require.resolve(bin), ...args], { cwd: REPO, encoding: 'utf8', timeout: 120000 });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

test('tsc --checkJs against miniprogram-api-typings: zero errors', { timeout: 120000 }, () => {
  const { code, output } = run('typescript/bin/tsc', ['-p', 'tests/miniprogram/tsconfig.json', '--pretty', 'false']);
  assert.equal(code, 0, output);
  const listed = run('typescript/bin/tsc', ['-p', 'tests/miniprogram/tsconfig.json', '--listFilesOnly']);
  for (const file of ['pages/index/index', 'pages/files/index', 'utils/uploader', 'utils/files', 'utils/file-list', 'utils/privacy', 'utils/server-config']) {
    assert.ok(listed.output.includes(`miniprogram/${file}.js`), file);
  }
  assert.match(listed.output, /miniprogram-api-typings/);
});

test('eslint with the mini-program globals: zero errors', { timeout: 120000 }, async () => {
  const eslint = new ESLint({ cwd: REPO });
  const results = await eslint.lintFiles(['miniprogram', 'tests/miniprogram', 'eslint.config.js']);
  const formatter = await eslint.loadFormatter('stylish');
  const problems = results.reduce((n, r) => n + r.errorCount + r.warningCount, 0);
  assert.equal(problems, 0, await formatter.format(results));
  const linted = results.map((r) => path.relative(REPO, r.filePath).split(path.sep).join('/'));
  assert.ok(linted.includes('miniprogram/pages/index/index.js'));
  assert.ok(linted.includes('miniprogram/pages/files/index.js'));
  assert.ok(linted.includes('miniprogram/app.js'));
  // The globals are declared, not switched off: an undefined name still fails.
  const [probe] = await eslint.lintText('wx.request({}); notAGlobal();\n', { filePath: path.join(REPO, 'miniprogram/probe.js') });
  assert.deepEqual(probe.messages.map((m) => m.message), ["'notAGlobal' is not defined."]);
});

/** Every .js file under `dir`, recursively. */
function jsFiles(dir) {
  return fs.readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.js')).map((f) => path.join(dir, f));
}

test('every export of miniprogram/utils is used by a file that requires it', () => {
  const sources = [...jsFiles(MINIPROGRAM), ...jsFiles(__dirname)].map((file) => ({ file, text: fs.readFileSync(file, 'utf8') }));
  const utils = path.join(MINIPROGRAM, 'utils');
  const unused = [];
  for (const name of fs.readdirSync(utils).filter((f) => f.endsWith('.js'))) {
    const target = path.join(utils, name);
    const requiredBy = sources.filter((s) =>
      [...s.text.matchAll(/require\(['"](\.{1,2}\/[^'"]+)['"]\)/g)].some((m) => path.resolve(path.dirname(s.file), m[1]).replace(/(\.js)?$/, '.js') === target)
    );
    assert.ok(requiredBy.length > 0, `utils/${name} is required by nothing`);
    for (const exported of Object.keys(require(path.join(utils, name)))) {
      if (!requiredBy.some((s) => new RegExp(`\\b${exported}\\b`).test(s.text))) unused.push(`utils/${name}: ${exported}`);
    }
  }
  assert.deepEqual(unused, []);
});

test('app.json: both pages, a tab bar with 上传 and 我的文件, no __usePrivacyCheck__ (on by default since 2023-10-17)', () => {
  const app = JSON.parse(fs.readFileSync(path.join(MINIPROGRAM, 'app.json'), 'utf8'));
  assert.deepEqual(app.pages, ['pages/index/index', 'pages/files/index']);
  assert.deepEqual(app.tabBar.list.map((t) => [t.pagePath, t.text]), [['pages/index/index', '上传'], ['pages/files/index', '我的文件']]);
  assert.equal('__usePrivacyCheck__' in app, false);
  const files = JSON.parse(fs.readFileSync(path.join(MINIPROGRAM, 'pages/files/index.json'), 'utf8'));
  assert.equal(files.enablePullDownRefresh, true, 'onPullDownRefresh needs it');
});
