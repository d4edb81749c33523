// The kit finds a Python interpreter the way each platform lays it out.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { pythonBin, baseEnv } = require('./support/local-kit');

const REPO = path.resolve(__dirname, '../..');

test('the venv interpreter: .venv/bin/python on POSIX, .venv\\Scripts\\python.exe on Windows', () => {
  const posix = path.posix.join(REPO, '.venv', 'bin', 'python');
  const windows = path.win32.join(REPO, '.venv', 'Scripts', 'python.exe');
  assert.equal(pythonBin('linux', (f) => f === posix), posix);
  assert.equal(pythonBin('darwin', (f) => f === posix), posix);
  assert.equal(pythonBin('win32', (f) => f === windows), windows);
  assert.match(windows, /\\\.venv\\Scripts\\python\.exe$/);
});

test('without a venv: python3 on POSIX, python on Windows', () => {
  const seen = [];
  const none = (/** @type {string} */ f) => (seen.push(f), false);
  assert.equal(pythonBin('linux', none), 'python3');
  assert.equal(pythonBin('win32', none), 'python');
  assert.equal(seen.length, 2);
  // A POSIX venv left in a Windows checkout is not an interpreter Windows can run.
  assert.equal(pythonBin('win32', (f) => f.endsWith(path.posix.join('bin', 'python'))), 'python');
});

test('children get PATH, and SYSTEMROOT on Windows only', () => {
  const parent = { PATH: '/bin', SYSTEMROOT: 'C:\\Windows', SECRET: 'x' };
  assert.deepEqual(baseEnv(parent, 'linux'), { PATH: '/bin' });
  assert.deepEqual(baseEnv(parent, 'win32'), { PATH: '/bin', SYSTEMROOT: 'C:\\Windows' });
});
