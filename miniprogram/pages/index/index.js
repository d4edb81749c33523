// The upload screen: pick files, show each one's progress and outcome. The network work lives in
// utils/uploader.js.

const config = require('../../config');
const { createUploader } = require('../../utils/uploader');
const { MESSAGES } = require('../../utils/messages');

const STATE_TEXT = {
  queued: '排队中',
  uploading: '上传中',
  success: '成功',
  failed: '失败',
  canceled: '已取消',
};
const IMAGE_EXTENSIONS = /\.(jpe?g|png|gif|webp|bmp|heic|heif)$/i;

/**
 * @typedef {import('../../utils/uploader').PickedFile} PickedFile
 * @typedef {import('../../utils/session').LoginStatus} LoginStatus
 * @typedef {{
 *   getToken?: import('../../utils/uploader').TokenGetter,
 *   loginStatus?: () => LoginStatus,
 *   onLoginChange?: (listener: (status: LoginStatus) => void) => () => void,
 *   retryLogin?: () => Promise<void>
 * }} AppApi
 * @typedef {'queued' | 'uploading' | 'success' | 'failed' | 'canceled'} ItemState
 * @typedef {{
 *   id: number, name: string, path: string, size: number, sizeText: string, isImage: boolean,
 *   state: ItemState, stateText: string, progress: number, key: string, message: string,
 *   detail: string, requestId: string, retryable: boolean
 * }} Item
 */

/** @param {number} bytes */
function formatSize(bytes) {
  if (bytes < 1024) return bytes + ' B';
  if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + ' KB';
  if (bytes < 1024 * 1024 * 1024) return (bytes / 1024 / 1024).toFixed(1) + ' MB';
  return (bytes / 1024 / 1024 / 1024).toFixed(2) + ' GB';
}

/** @param {string} path */
function baseName(path) {
  const parts = String(path).split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/** @param {{errMsg?: string}} err */
function isUserCancel(err) {
  return /cancel/i.test((err && err.errMsg) || '');
}

Page({
  data: {
    /** @type {Item[]} */
    items: [],
    maxFilesPerPick: config.maxFilesPerPick,
    maxConcurrentUploads: config.maxConcurrentUploads,
    busy: false,
    notice: '',
    /** Without login support in the app, uploads go without a token, as with login off. */
    login: { state: 'off', message: '' },
    /** True while logging in or after a failed login: no upload can start. */
    loginBlocked: false,
  },

  /** @type {ReturnType<typeof createUploader> | null} */
  uploader: null,
  /** @type {Record<number, {abort: () => void}>} running or queued uploads by item id */
  jobs: {},
  nextItemId: 1,
  /** @type {(() => void) | null} */
  stopWatchingLogin: null,

  onLoad() {
    const app = /** @type {AppApi} */ (getApp());
    this.jobs = {};
    if (app && app.loginStatus && app.onLoginChange) {
      this.showLogin(app.loginStatus());
      this.stopWatchingLogin = app.onLoginChange((status) => this.showLogin(status));
    }
    this.uploader = createUploader({
      wx,
      baseUrl: config.signerBaseUrl,
      concurrency: config.maxConcurrentUploads,
      getToken: app && app.getToken ? (options) => /** @type {any} */ (app).getToken(options) : null,
    });
  },

  onUnload() {
    if (this.stopWatchingLogin) this.stopWatchingLogin();
    this.stopWatchingLogin = null;
    Object.keys(this.jobs).forEach((id) => this.jobs[Number(id)].abort());
    this.jobs = {};
  },

  /** @param {LoginStatus} status */
  showLogin(status) {
    this.setData({
      login: { state: status.state, message: status.message },
      loginBlocked: status.state === 'pending' || status.state === 'failed',
    });
  },

  /** 重试 on the 未登录 banner. */
  retryLogin() {
    const app = /** @type {AppApi} */ (getApp());
    if (this.data.login.state === 'pending' || !app || !app.retryLogin) return;
    app.retryLogin();
  },

  /** 选择文件: any file from a chat, up to 9. */
  chooseAndUploadFile() {
    if (this.refuseWhileBusy() || this.refuseWhileLoggedOut()) return;
    wx.chooseMessageFile({
      count: config.maxFilesPerPick,
      type: 'all',
      success: (res) => {
        this.startBatch(res.tempFiles.map((f) => ({
          path: f.path,
          name: f.name || baseName(f.path),
          size: f.size,
          isImage: f.type === 'image' || IMAGE_EXTENSIONS.test(f.name || ''),
        })));
      },
      fail: (err) => this.pickFailed(err),
    });
  },

  /** 相册 / 拍摄: images and videos. */
  chooseAndUploadMedia() {
    if (this.refuseWhileBusy() || this.refuseWhileLoggedOut()) return;
    wx.chooseMedia({
      count: config.maxFilesPerPick,
      mediaType: ['image', 'video'],
      sourceType: ['album', 'camera'],
      success: (res) => {
        this.startBatch(res.tempFiles.map((f) => ({
          path: f.tempFilePath,
          name: baseName(f.tempFilePath),
          size: f.size,
          isImage: f.fileType === 'image',
        })));
      },
      fail: (err) => this.pickFailed(err),
    });
  },

  refuseWhileBusy() {
    if (!this.data.busy) return false;
    wx.showToast({ title: MESSAGES.BUSY, icon: 'none' });
    return true;
  },

  refuseWhileLoggedOut() {
    if (!this.data.loginBlocked) return false;
    wx.showToast({ title: MESSAGES.LOGIN_REQUIRED, icon: 'none' });
    return true;
  },

  /** @param {{errMsg: string}} err */
  pickFailed(err) {
    if (isUserCancel(err)) return;
    this.setData({ notice: MESSAGES.CHOOSE_FAILED + ' (' + err.errMsg + ')' });
  },

  /** @param {Array<PickedFile & {isImage: boolean}>} files */
  startBatch(files) {
    if (this.data.busy || this.data.loginBlocked || files.length === 0) return;
    /** @type {Item[]} */
    const fresh = files.map((f) => ({
      id: this.nextItemId++,
      name: f.name,
      path: f.path,
      size: f.size,
      sizeText: formatSize(f.size),
      isImage: f.isImage,
      state: 'queued',
      stateText: STATE_TEXT.queued,
      progress: 0,
      key: '',
      message: '',
      detail: '',
      requestId: '',
      retryable: false,
    }));
    this.setData({ items: fresh.concat(this.data.items), busy: true, notice: '' });
    fresh.forEach((item) => this.runItem(item));
  },

  /** @param {Item} item */
  runItem(item) {
    const uploader = /** @type {ReturnType<typeof createUploader>} */ (this.uploader);
    const job = uploader.enqueue(
      { path: item.path, name: item.name, size: item.size },
      {
        onStart: () => this.patchItem(item.id, { state: 'uploading', stateText: STATE_TEXT.uploading }),
        onProgress: (p) => {
          const current = this.findItem(item.id);
          if (current && current.progress !== p.progress) this.patchItem(item.id, { progress: p.progress });
        },
      }
    );
    this.jobs[item.id] = job;
    job.promise.then(
      (result) => {
        this.patchItem(item.id, { state: 'success', stateText: STATE_TEXT.success, progress: 100, key: result.key });
      },
      (/** @type {import('../../utils/uploader').UploadError} */ error) => {
        const canceled = error && error.kind === 'aborted';
        this.patchItem(item.id, {
          state: canceled ? 'canceled' : 'failed',
          stateText: canceled ? STATE_TEXT.canceled : STATE_TEXT.failed,
          message: canceled ? '' : (error && error.message) || String(error),
          detail: (error && error.detail) || '',
          requestId: (error && error.requestId) || '',
          retryable: !!(error && error.retryable),
        });
      }
    ).then(() => {
      delete this.jobs[item.id];
      this.setData({ busy: Object.keys(this.jobs).length > 0 });
    });
  },

  /** @param {WechatMiniprogram.BaseEvent} event */
  cancelUpload(event) {
    const job = this.jobs[Number(event.currentTarget.dataset.id)];
    if (job) job.abort();
  },

  /** 重试 after a network failure: the same file goes through the queue again. */
  retryUpload(/** @type {WechatMiniprogram.BaseEvent} */ event) {
    const item = this.findItem(Number(event.currentTarget.dataset.id));
    if (!item || item.state !== 'failed' || !item.retryable || this.jobs[item.id]) return;
    this.patchItem(item.id, {
      state: 'queued', stateText: STATE_TEXT.queued, progress: 0, message: '', detail: '', requestId: '', retryable: false,
    });
    this.setData({ busy: true });
    this.runItem(item);
  },

  /** @param {number} id */
  findItem(id) {
    return this.data.items.find((item) => item.id === id);
  },

  /**
   * @param {number} id
   * @param {Partial<Item>} changes
   */
  patchItem(id, changes) {
    const index = this.data.items.findIndex((item) => item.id === id);
    if (index === -1) return;
    /** @type {Record<string, unknown>} */
    const update = {};
    Object.keys(changes).forEach((field) => {
      update['items[' + index + '].' + field] = /** @type {any} */ (changes)[field];
    });
    this.setData(update);
  },
});
