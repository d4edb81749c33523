// The 我的文件 list as loaded so far: pages fetched with nextCursor, and when their presigned URLs
// stop working. Before a URL is used, a list older than the URLs' lifetime (minus a margin) is
// fetched again, so a link that expired while the page stayed open is replaced, not shown broken.

// Refresh this long before the first URL expires: a tap, a download and a slow network fit in it.
const REFRESH_MARGIN_MS = 60 * 1000;
// The server's largest page (GET /api/files limit 1..100).
const MAX_LIMIT = 100;

/**
 * @typedef {import('./files').ListedFile} ListedFile
 * @typedef {import('./files').FilePage} FilePage
 * @typedef {{files: ListedFile[], hasMore: boolean, loaded: boolean}} ListSnapshot
 * @typedef {{list: (opts: {limit?: number, cursor?: string | null}) => Promise<FilePage>}} ListSource
 */

/**
 * @param {{api: ListSource, pageSize?: number, now?: () => number}} options
 */
function createFileList(options) {
  const api = options.api;
  const pageSize = Math.max(1, Math.min(MAX_LIMIT, options.pageSize || 20));
  const now = options.now || (() => Date.now());
  /** @type {ListedFile[]} */
  let files = [];
  /** @type {string | null} */
  let nextCursor = null;
  let loaded = false;
  // The earliest URL expiry among the pages held, with the margin applied.
  let staleAt = Infinity;
  // A reload replaces everything: an older page that answers later is dropped.
  let generation = 0;
  /** @type {Promise<ListSnapshot> | null} */
  let reloading = null;
  /** @type {Promise<ListSnapshot> | null} */
  let loadingMore = null;

  /** @returns {ListSnapshot} */
  function snapshot() {
    return { files: files.slice(), hasMore: nextCursor !== null, loaded };
  }

  /** @param {FilePage} page */
  function noteExpiry(page) {
    const lifetime = page.expiresAt - page.fetchedAt;
    // Short-lived URLs (under two minutes) keep half their lifetime as the margin.
    const margin = Math.min(REFRESH_MARGIN_MS, lifetime / 2);
    staleAt = Math.min(staleAt, page.expiresAt - margin);
  }

  /**
   * Fetch from the start. `keepCount`: as many files as are shown now (for fresh URLs on the same
   * view); otherwise one page (pull-to-refresh, first load).
   * @param {{keepCount?: boolean}} [opts]
   * @returns {Promise<ListSnapshot>}
   */
  function reload(opts) {
    if (reloading) return reloading;
    const mine = ++generation;
    const limit = opts && opts.keepCount ? Math.min(MAX_LIMIT, Math.max(pageSize, files.length)) : pageSize;
    loadingMore = null;
    reloading = api.list({ limit }).then(
      (page) => {
        if (mine === generation) {
          files = page.files.slice();
          nextCursor = page.nextCursor;
          loaded = true;
          staleAt = Infinity;
          noteExpiry(page);
        }
        reloading = null;
        return snapshot();
      },
      (error) => {
        reloading = null;
        throw error;
      }
    );
    return reloading;
  }

  /**
   * The next page after what is held (nothing when there is none or a load is running).
   * @returns {Promise<ListSnapshot>}
   */
  function loadMore() {
    if (reloading) return reloading;
    if (loadingMore) return loadingMore;
    if (!loaded || nextCursor === null) return Promise.resolve(snapshot());
    const mine = generation;
    const request = api.list({ limit: pageSize, cursor: nextCursor }).then(
      (page) => {
        if (mine === generation && loadingMore === request) {
          const seen = new Set(files.map((f) => f.id));
          files = files.concat(page.files.filter((f) => !seen.has(f.id)));
          nextCursor = page.nextCursor;
          noteExpiry(page);
          loadingMore = null;
        }
        return snapshot();
      },
      (error) => {
        if (loadingMore === request) loadingMore = null;
        throw error;
      }
    );
    loadingMore = request;
    return request;
  }

  /**
   * The list with URLs that still work for a while: fetched again first when they are about to expire.
   * @returns {Promise<ListSnapshot>}
   */
  function fresh() {
    if (loaded && now() < staleAt && !reloading) return Promise.resolve(snapshot());
    return reload({ keepCount: true });
  }

  /**
   * Forget a deleted file.
   * @param {number} id
   * @returns {ListSnapshot}
   */
  function drop(id) {
    files = files.filter((f) => f.id !== id);
    return snapshot();
  }

  return { reload, loadMore, fresh, drop, snapshot };
}

module.exports = { createFileList };
