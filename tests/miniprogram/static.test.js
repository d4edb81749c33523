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
  const results = await eslint.lintFiles(['miniprogram', 'tests/miniprogram', 'tools', 'eslint.config.js']);
  const formatter = await eslint.loadFormatter('stylish');
  const problems = results.reduce((n, r) => n + r.errorCount + r.warningCount, 0);
  assert.equal(problems, 0, await formatter.format(results));
  const linted = results.map((r) => path.relative(REPO, r.filePath).split(path.sep).join('/'));
  assert.ok(linted.includes('miniprogram/pages/index/index.js'));
  assert.ok(linted.includes('miniprogram/pages/files/index.js'));
  assert.ok(linted.includes('miniprogram/app.js'));
  assert.ok(linted.includes('tools/screenshots/render.js'));
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

/** Relative luminance contrast of two #rrggbb colours (WCAG 2). */
function contrast(a, b) {
  const luminance = (hex) => {
    const [r, g, bl] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** Every `selector { ... }` block of the WXSS files. */
function wxssRules() {
  return fs.readdirSync(MINIPROGRAM, { recursive: true }).filter((f) => f.endsWith('.wxss')).flatMap((file) =>
    [...fs.readFileSync(path.join(MINIPROGRAM, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').matchAll(/([^{}]+)\{([^}]*)\}/g)]
      .map(([, selector, body]) => ({ file, selector: selector.trim(), body })));
}

test('tab bar: an icon and a selected icon per tab, PNG 81x81 and at most 40 KB each, in the accent colour', () => {
  const app = JSON.parse(fs.readFileSync(path.join(MINIPROGRAM, 'app.json'), 'utf8'));
  assert.equal(app.tabBar.selectedColor, '#07c160');
  for (const tab of app.tabBar.list) {
    for (const icon of [tab.iconPath, tab.selectedIconPath]) {
      assert.match(icon, /^images\/.+\.png$/);
      const bytes = fs.readFileSync(path.join(MINIPROGRAM, icon));
      assert.ok(bytes.length <= 40 * 1024, `${icon}: ${bytes.length} bytes`);
      assert.equal(bytes.subarray(1, 4).toString(), 'PNG');
      assert.deepEqual([bytes.readUInt32BE(16), bytes.readUInt32BE(20)], [81, 81], icon);
    }
  }
});

test('WXSS: one accent colour, text contrast at least 4.5:1, tap targets at least 88rpx, no mid-word breaks outside the detail', () => {
  const rules = wxssRules();
  const all = rules.map((r) => r.body).join('\n');
  assert.doesNotMatch(all, /#3a5ccc/i, 'no second (blue) accent');
  const progress = fs.readFileSync(path.join(MINIPROGRAM, 'pages/index/index.wxml'), 'utf8');
  assert.match(progress, /activeColor="\{\{item.state === 'paused' \? '#b8bcc4' : '#07c160'\}\}"/);
  // The chevron is an icon glyph: graphics need 3:1.
  for (const { file, selector, body } of rules) {
    const match = /(?:^|;|\s)color:\s*(#[0-9a-f]{6})/i.exec(body);
    if (!match) continue;
    const background = /background-color:\s*(#[0-9a-f]{6})/i.exec(body);
    const needed = selector === '.chevron' ? 3 : 4.5;
    const ratio = contrast(match[1].toLowerCase(), background ? background[1].toLowerCase() : '#ffffff');
    assert.ok(ratio >= needed, `${file} ${selector}: ${match[1]} is ${ratio.toFixed(2)}:1`);
  }
  const op = rules.find((r) => r.selector === '.op');
  assert.match(op.body, /min-height:\s*88rpx/);
  // The state and percentage of an upload are smaller than the file name (28rpx, the page's size).
  const fontSize = (file, selector) => Number((/font-size:\s*(\d+)rpx/.exec(rules.find((r) => r.file === file && r.selector === selector).body) || [])[1]);
  assert.ok(fontSize('pages/index/index.wxss', '.state') < fontSize('app.wxss', 'page'));
  assert.equal(rules.find((r) => r.file === 'pages/index/index.wxss' && r.selector === '.name').body.includes('font-size'), false);
  const breaking = rules.filter((r) => /word-break:\s*break-all/.test(r.body)).map((r) => r.selector);
  assert.deepEqual(breaking, ['.detail'], 'only codes and ids break anywhere');
});
