// The saved state of large uploads: one storage key, entries that expire and a bounded count.

const test = require('node:test');
const assert = require('node:assert/strict');
const { createResumeStore, STORAGE_KEY, MAX_ENTRIES, MAX_AGE_MS } = require('../../miniprogram/utils/resume-store');
const { createWxStorage } = require('./support/wx-double');

const DAY = 24 * 3600 * 1000;

function entry(n, createdAt) {
  return { uploadId: `up-${n}`, key: `uploads/k${n}.mp4`, name: `v${n}.mp4`, size: 1000 + n, partSize: 100, partCount: 11, fingerprint: `f${n}`, createdAt };
}

test('kept under one key as a map by uploadId; save replaces, remove forgets', () => {
  const storage = createWxStorage();
  const store = createResumeStore({ storage, now: () => 10 * DAY });
  store.save(entry(1, 10 * DAY - 2));
  store.save(entry(2, 10 * DAY - 1));
  store.save({ ...entry(1, 10 * DAY), partCount: 12 });
  assert.deepEqual([...storage.items.keys()], [STORAGE_KEY]);
  assert.deepEqual(Object.keys(storage.read(STORAGE_KEY)).sort(), ['up-1', 'up-2']);
  assert.deepEqual(store.list().map((e) => [e.uploadId, e.partCount]), [['up-1', 12], ['up-2', 11]], 'newest first');
  store.remove('up-1');
  assert.deepEqual(store.list().map((e) => e.uploadId), ['up-2']);
});

test('entries older than 7 days are gone; at most 20 are kept, the oldest dropped first', () => {
  assert.equal(MAX_AGE_MS, 7 * DAY);
  let now = 100 * DAY;
  const storage = createWxStorage();
  const store = createResumeStore({ storage, now: () => now });
  store.save(entry(0, now));
  now += 7 * DAY - 1;
  assert.equal(store.list().length, 1);
  now += 1;
  assert.deepEqual(store.list(), []);
  for (let n = 1; n <= MAX_ENTRIES + 5; n += 1) store.save(entry(n, now + n));
  assert.equal(Object.keys(storage.read(STORAGE_KEY)).length, MAX_ENTRIES);
  assert.deepEqual(store.list().map((e) => e.uploadId).slice(-1), ['up-6']);
  assert.ok(JSON.stringify(storage.read(STORAGE_KEY)).length < 10 * 1024, 'far below the 1 MB per key');
});

test('unreadable, foreign or broken storage counts as empty; a full storage does not throw', () => {
  const junk = createWxStorage({ [STORAGE_KEY]: { a: { uploadId: 'a' }, b: 'x', c: { ...entry(3, Date.now()), size: 'big' } } });
  assert.deepEqual(createResumeStore({ storage: junk }).list(), []);
  assert.deepEqual(createResumeStore({ storage: createWxStorage({ [STORAGE_KEY]: 'nonsense' }) }).list(), []);
  const failing = {
    getStorageSync: () => {
      throw new Error('getStorageSync:fail');
    },
    setStorageSync: () => {
      throw new Error('setStorageSync:fail exceed storage max size');
    },
  };
  const store = createResumeStore({ storage: failing });
  assert.doesNotThrow(() => store.save(entry(1, Date.now())));
  assert.deepEqual(store.list(), []);
});
