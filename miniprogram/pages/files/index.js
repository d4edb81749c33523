// 我的文件: the user's uploads, newest first, as WeUI list cells: a tap previews or opens, a long
// press offers 预览/删除 in an ActionSheet; the usage line on top when the server reports it. The
// network work lives in utils/files.js, the loaded list (pages, URL freshness) in
// utils/file-list.js; failures read as utils/error-view.js words them for this build.

const config = require('../../config');
const { createFileApi } = require('../../utils/files');
const { createFileList } = require('../../utils/file-list');
const { MESSAGES } = require('../../utils/messages');
const { formatSize, formatTime, formatUsage } = require('../../utils/format');
const { isDeveloperBuild, errorView } = require('../../utils/error-view');

const UPLOAD_TAB = '/pages/index/index';

/**
 * @typedef {import('../../utils/files').ListedFile} ListedFile
 * @typedef {import('../../utils/file-list').ListSnapshot} ListSnapshot
 * @typedef {import('../../utils/errors').UploadError} UploadError
 * @typedef {import('../../utils/session').AppApi} AppApi
 * @typedef {{
 *   id: number, name: string, sizeText: string, timeText: string, isImage: boolean, thumbSrc: string,
 *   ext: string, deleting: boolean
 * }} FileView
 */

/** @param {ListedFile} file */
function isImage(file) {
  return !!file.thumbnailUrl || /^image\//i.test(file.contentType || '');
}

/** @param {string} name */
function badgeText(name) {
  const match = /\.([A-Za-z0-9]{1,5})$/.exec(name || '');
  return match ? match[1].toUpperCase() : '文件';
}


Page({
  data: {
    /** @type {FileView[]} */
    files: [],
    loaded: false,
    loadingMore: false,
    hasMore: false,
    /** Why the first load failed (with 重试). */
    error: '',
    /** What went wrong with the last action (a refresh, an open, a delete); a failed refresh offers 重试. */
    notice: '',
    noticeRetry: false,
    /** 已用 120 MB / 1 GB, when the server reports it. */
    usageText: '',
    emptyText: MESSAGES.FILES_EMPTY,
    hint: MESSAGES.FILES_HINT,
  },

  /** @type {ReturnType<typeof createFileApi> | null} */
  fileApi: null,
  /** @type {ReturnType<typeof createFileList> | null} */
  list: null,
  /** A broken thumbnail refreshes the list once; only the user's own refresh re-arms it. */
  imageRefreshUsed: false,
  /** 开发版: failures in developer words. */
  developer: false,

  onLoad() {
    const app = /** @type {AppApi} */ (getApp());
    this.fileApi = createFileApi({
      wx,
      baseUrl: config.signerBaseUrl,
      getToken: app && app.getToken ? (options) => /** @type {any} */ (app).getToken(options) : null,
    });
    this.list = createFileList({ api: this.fileApi, pageSize: config.filesPageSize });
    this.developer = isDeveloperBuild(wx);
  },

  /**
   * The sentence for a failure: the same on a first load and on a refresh.
   * @param {unknown} error
   * @param {'list' | 'delete' | 'open'} action
   */
  failureText(error, action) {
    const view = errorView(error, { action, developer: this.developer, retry: action === 'list' });
    if (!this.developer) return view.message;
    const prefix = { list: MESSAGES.FILES_LOAD_FAILED, delete: MESSAGES.DELETE_FAILED, open: '' };
    return prefix[action] + view.message;
  },

  onShow() {
    // Each visit (files uploaded on the other tab meanwhile) shows the list as it is now.
    this.refresh({ keepCount: true });
  },

  onPullDownRefresh() {
    this.refresh({ keepCount: false }).then(() => wx.stopPullDownRefresh());
  },

  onReachBottom() {
    const list = this.fileList();
    if (!this.data.hasMore || this.data.loadingMore) return;
    this.setData({ loadingMore: true });
    list.loadMore().then(
      (snapshot) => this.show(snapshot, { loadingMore: false }),
      (error) => this.setData({ loadingMore: false, notice: this.failureText(error, 'list'), noticeRetry: false })
    );
  },

  /** 重试 after a failed load or refresh. */
  retryLoad() {
    this.setData({ error: '', notice: '', noticeRetry: false });
    this.refresh({ keepCount: false });
  },

  /** 去上传 on the empty state. */
  goUpload() {
    wx.switchTab({ url: UPLOAD_TAB });
  },

  /**
   * The list and, beside it, the usage line (whose failure never touches the list).
   * @param {{keepCount: boolean}} opts
   * @returns {Promise<void>}
   */
  refresh(opts) {
    this.imageRefreshUsed = false;
    this.loadUsage();
    return this.reload(opts);
  },

  loadUsage() {
    const fileApi = /** @type {ReturnType<typeof createFileApi>} */ (this.fileApi);
    fileApi.usage().then(
      (usage) => this.setData({ usageText: formatUsage(usage) }),
      () => this.setData({ usageText: '' })
    );
  },

  /**
   * @param {{keepCount: boolean}} opts
   * @returns {Promise<void>}
   */
  reload(opts) {
    return this.fileList().reload(opts).then(
      (snapshot) => this.show(snapshot, { error: '', notice: '', noticeRetry: false }),
      (error) => {
        const text = this.failureText(error, 'list');
        if (this.data.loaded) this.setData({ notice: text, noticeRetry: true });
        else this.setData({ error: text });
      }
    );
  },

  fileList() {
    return /** @type {ReturnType<typeof createFileList>} */ (this.list);
  },

  /**
   * @param {ListSnapshot} snapshot
   * @param {Record<string, unknown>} [extra] more fields to set in the same update
   */
  show(snapshot, extra) {
    /** @type {FileView[]} */
    const files = snapshot.files.map((f) => ({
      id: f.id,
      name: f.name,
      sizeText: formatSize(f.size),
      timeText: formatTime(f.createdAt),
      isImage: isImage(f),
      thumbSrc: f.thumbnailUrl || f.url,
      ext: badgeText(f.name),
      deleting: false,
    }));
    this.setData(Object.assign({ files, loaded: snapshot.loaded, hasMore: snapshot.hasMore }, extra || {}));
  },

  /**
   * The file as the list holds it now, with URLs fetched again first if they are about to expire.
   * @param {number} id
   * @returns {Promise<{file: ListedFile | undefined, files: ListedFile[]}>}
   */
  freshFile(id) {
    return this.fileList().fresh().then((snapshot) => {
      this.show(snapshot);
      return { file: snapshot.files.find((f) => f.id === id), files: snapshot.files };
    });
  },

  /** Tap on a file: an image opens in the previewer, a document in WeChat's viewer. */
  openFile(/** @type {WechatMiniprogram.BaseEvent} */ event) {
    const id = Number(event.currentTarget.dataset.id);
    this.setData({ notice: '', noticeRetry: false });
    this.freshFile(id).then(({ file, files }) => {
      if (!file) return;
      if (isImage(file)) return this.preview(file, files);
      return this.openDocument(file, true);
    }, (error) => this.setData({ notice: this.failureText(error, 'list'), noticeRetry: true }));
  },

  /**
   * @param {ListedFile} file
   * @param {ListedFile[]} files
   */
  preview(file, files) {
    wx.previewImage({
      urls: files.filter(isImage).map((f) => f.url),
      current: file.url,
      fail: (err) => {
        if (/cancel/i.test((err && err.errMsg) || '')) return;
        this.setData({ notice: this.developer ? MESSAGES.PREVIEW_FAILED + ((err && err.errMsg) || '') : MESSAGES.OPEN_FAILED });
      },
    });
  },

  /**
   * Download and open; a link refused as expired is fetched again once.
   * @param {ListedFile} file
   * @param {boolean} mayRefresh
   * @returns {Promise<void>}
   */
  openDocument(file, mayRefresh) {
    const fileApi = /** @type {ReturnType<typeof createFileApi>} */ (this.fileApi);
    wx.showLoading({ title: '正在打开' });
    return fileApi.openDocument(file).then(
      () => {
        wx.hideLoading();
      },
      (/** @type {UploadError} */ error) => {
        wx.hideLoading();
        if (mayRefresh && error && error.code === 'LinkExpired') {
          return this.fileList().reload({ keepCount: true }).then((snapshot) => {
            this.show(snapshot);
            const again = snapshot.files.find((f) => f.id === file.id);
            if (again) return this.openDocument(again, false);
          }, (refreshError) => this.setData({ notice: this.failureText(refreshError, 'list'), noticeRetry: true }));
        }
        this.setData({ notice: this.failureText(error, 'open') });
      }
    );
  },

  /** A thumbnail that would not load: its URL most likely expired. Fetch the list again, once. */
  thumbFailed() {
    if (this.imageRefreshUsed) return;
    this.imageRefreshUsed = true;
    this.reload({ keepCount: true });
  },

  /** Long press: 预览 (or 打开) and 删除 in an ActionSheet. */
  showActions(/** @type {WechatMiniprogram.BaseEvent} */ event) {
    const id = Number(event.currentTarget.dataset.id);
    const view = this.data.files.find((f) => f.id === id);
    if (!view || view.deleting) return;
    wx.showActionSheet({
      itemList: [view.isImage ? MESSAGES.FILES_ACTION_PREVIEW : MESSAGES.FILES_ACTION_OPEN, MESSAGES.FILES_ACTION_DELETE],
      success: (res) => {
        if (res.tapIndex === 0) this.openFile(event);
        else if (res.tapIndex === 1) this.askDelete(id);
      },
    });
  },

  /**
   * 删除 from the ActionSheet: ask first, naming the file.
   * @param {number} id
   */
  askDelete(id) {
    const view = this.data.files.find((f) => f.id === id);
    if (!view || view.deleting) return;
    wx.showModal({
      title: MESSAGES.DELETE_CONFIRM_TITLE,
      content: MESSAGES.DELETE_CONFIRM_TEXT.replace('{name}', view.name),
      confirmText: MESSAGES.DELETE_CONFIRM_BUTTON,
      confirmColor: '#e34d59',
      success: (res) => {
        if (res.confirm) this.deleteFile(id);
      },
    });
  },

  /** @param {number} id */
  deleteFile(id) {
    const fileApi = /** @type {ReturnType<typeof createFileApi>} */ (this.fileApi);
    this.markDeleting(id, true);
    fileApi.remove(id).then(
      () => {
        this.show(this.fileList().drop(id), { notice: '', noticeRetry: false });
        wx.showToast({ title: MESSAGES.DELETED, icon: 'success' });
        this.loadUsage();
      },
      (error) => {
        this.markDeleting(id, false);
        this.setData({ notice: this.failureText(error, 'delete'), noticeRetry: false });
      }
    );
  },

  /**
   * @param {number} id
   * @param {boolean} deleting
   */
  markDeleting(id, deleting) {
    const index = this.data.files.findIndex((f) => f.id === id);
    if (index !== -1) this.setData({ ['files[' + index + '].deleting']: deleting });
  },
});
