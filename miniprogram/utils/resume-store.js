// What a large upload needs to be continued after a drop or an app restart, kept in wx storage:
// one key holding a small map by uploadId. The bytes themselves stay in OSS; this only remembers
// which upload they belong to and how the file was cut.

const STORAGE_KEY = 'oss-upload.multipart';
// wx storage allows 1 MB per key and 10 MB in all (wx.setStorage reference); an entry is about
// 300 bytes, so the map stays tiny. The oldest entries go first when it is full.
const MAX_ENTRIES = 20;
// A presigned URL lives at most 7 days (x-oss-expires <= 604800) and the bucket's lifecycle rule
// aborts unfinished uploads after a few days: an older entry is almost surely gone in OSS too.
const MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/**
 * @typedef {{uploadId: string, key: string, name: string, size: number, partSize: number,
 *   partCount: number, fingerprint: string, createdAt: number}} SavedUpload
 * @typedef {Pick<WechatMiniprogram.Wx, 'getStorageSync' | 'setStorageSync'>} WxStorage
 */

/** @param {any} entry */
function isSaved(entry) {
  return !!entry && typeof entry === 'object' && typeof entry.uploadId === 'string' && !!entry.uploadId &&
    typeof entry.key === 'string' && typeof entry.name === 'string' && typeof entry.fingerprint === 'string' &&
    [entry.size, entry.partSize, entry.partCount, entry.createdAt].every((n) => typeof n === 'number' && n >= 0 && isFinite(n));
}

/**
 * @param {{storage: WxStorage, now?: () => number, maxEntries?: number, maxAgeMs?: number}} options
 */
function createResumeStore(options) {
  const storage = options.storage;
  const now = options.now || Date.now;
  const maxEntries = options.maxEntries || MAX_ENTRIES;
  const maxAgeMs = options.maxAgeMs || MAX_AGE_MS;

  /** @returns {SavedUpload[]} live entries, newest first */
  function read() {
    let raw;
    try {
      raw = storage.getStorageSync(STORAGE_KEY);
    } catch {
      return []; // unreadable storage is the same as none
    }
    const cutoff = now() - maxAgeMs;
    return Object.keys(raw && typeof raw === 'object' ? raw : {})
      .map((id) => raw[id])
      .filter((entry) => isSaved(entry) && entry.createdAt > cutoff)
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, maxEntries);
  }

  /** @param {SavedUpload[]} entries */
  function write(entries) {
    /** @type {Record<string, SavedUpload>} */
    const map = {};
    entries.slice(0, maxEntries).forEach((entry) => {
      map[entry.uploadId] = entry;
    });
    try {
      storage.setStorageSync(STORAGE_KEY, map);
    } catch {
      // Storage full or unavailable: the upload goes on, it just cannot be continued after a restart.
    }
  }

  return {
    /** @returns {SavedUpload[]} */
    list: read,
    /** @param {SavedUpload} entry */
    save(entry) {
      write([entry].concat(read().filter((e) => e.uploadId !== entry.uploadId)));
    },
    /** @param {string} uploadId */
    remove(uploadId) {
      const entries = read();
      const kept = entries.filter((e) => e.uploadId !== uploadId);
      if (kept.length !== entries.length) write(kept);
    },
  };
}

module.exports = { createResumeStore, STORAGE_KEY, MAX_ENTRIES, MAX_AGE_MS };
