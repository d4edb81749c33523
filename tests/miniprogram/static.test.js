// Type-check the mini-program against miniprogram-api-typings and lint everything we wrote.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ESLint } = require('eslint');

const REPO = path.resolve(__dirname, '../..');

function run(bin, args) {
  const result = spawnSync(process.execPath, [require.resolve(bin), ...args], { cwd: REPO, encoding: 'utf8', timeout: 120000 });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

test('tsc --checkJs against miniprogram-api-typings: zero errors', { timeout: 120000 }, () => {
  const { code, output } = run('typescript/bin/tsc', ['-p', 'tests/miniprogram/tsconfig.json', '--pretty', 'false']);
  assert.equal(code, 0, output);
  const listed = run('typescript/bin/tsc', ['-p', 'tests/miniprogram/tsconfig.json', '--listFilesOnly']);
  assert.match(listed.output, /miniprogram\/pages\/index\/index\.js/);
  assert.match(listed.output, /miniprogram\/utils\/uploader\.js/);
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
  assert.ok(linted.includes('miniprogram/app.js'));
  // The globals are declared, not switched off: an undefined name still fails.
  const [probe] = await eslint.lintText('wx.request({}); notAGlobal();\n', { filePath: path.join(REPO, 'miniprogram/probe.js') });
  assert.deepEqual(probe.messages.map((m) => m.message), ["'notAGlobal' is not defined."]);
});
