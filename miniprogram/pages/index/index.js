// The upload screen: pick files, show each one's progress and outcome, and the privacy prompt the
// pickers may need. The network work lives in utils/uploader.js.

const config = require('../../config');
const { createUploader } = require('../../utils/uploader');
const { MESSAGES } = require('../../utils/messages');
const { formatSize } = require('../../utils/format');
const privacy = require('../../utils/privacy');

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
 * @typedef {import('../../utils/uploader').UploadJob} UploadJob
 * @typedef {import('../../utils/uploader').UploadResult} UploadResult
 * @typedef {import('../../utils/uploader').JobCallbacks} JobCallbacks
 * @typedef {import('../../utils/errors').UploadError} UploadError
 * @typedef {import('../../utils/session').LoginStatus} LoginStatus
 * @typedef {import('../../utils/session').AppApi} AppApi
 * @typedef {'queued' | 'uploading' | 'success' | 'failed' | 'canceled'} ItemState
 * @typedef {{
 *   id: number, name: string, path: string, size: number, sizeText: string, isImage: boolean,
 *   state: ItemState, stateText: string, progress: number, key: string, message: string,
 *   detail: string, requestId: string, retryable: boolean, confirmKey: string
 * }} Item
 *   confirmKey: stored in OSS, not yet recorded by the server: 重试 confirms it again.
 */

/** @param {string} path */
function baseName(path) {
  const parts = String(path).split(/[\\/]/);
  return parts[parts.length - 1] || path;
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
    /** The privacy prompt, shown when WeChat asks before a picker runs. */
    privacyPrompt: false,
    privacyContractName: MESSAGES.PRIVACY_CONTRACT_NAME,
  },

  /** @type {ReturnType<typeof createUploader> | null} */
  uploader: null,
  /** @type {Record<number, {abort: () => void}>} running or queued uploads by item id */
  jobs: {},
  nextItemId: 1,
  /** @type {(() => void) | null} */
  stopWatchingLogin: null,
  /** @type {ReturnType<typeof privacy.createPrivacyPrompt> | null} */
  privacy: null,

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
    this.privacy = privacy.createPrivacyPrompt(wx, () => this.setData({ privacyPrompt: true }));
    privacy.privacyContractName(wx).then((name) => this.setData({ privacyContractName: name }));
  },

  onShow() {
    // The listener is last-one-wins: take it back whenever this page is in front.
    if (this.privacy) this.privacy.listen();
  },

  onUnload() {
    if (this.stopWatchingLogin) this.stopWatchingLogin();
    this.stopWatchingLogin = null;
    if (this.privacy) this.privacy.dispose();
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

  /** 同意 on the privacy prompt (a <button open-type="agreePrivacyAuthorization" id="agree-btn">). */
  agreePrivacy() {
    this.setData({ privacyPrompt: false });
    if (this.privacy) this.privacy.agree();
  },

  /** 不同意 on the privacy prompt: the waiting picker fails with errno 104. */
  disagreePrivacy() {
    this.setData({ privacyPrompt: false });
    if (this.privacy) this.privacy.disagree();
  },

  openPrivacyContract() {
    privacy.openPrivacyContract(wx);
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
      fail: (err) => this.pickFailed('chooseMessageFile', err),
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
      fail: (err) => this.pickFailed('chooseMedia', err),
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

  /**
   * @param {import('../../utils/privacy').PickerApi} api
   * @param {import('../../utils/privacy').WxFailure} err
   */
  pickFailed(api, err) {
    const message = privacy.pickFailureMessage(api, err);
    if (message) this.setData({ notice: message });
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
      confirmKey: '',
    }));
    this.setData({ items: fresh.concat(this.data.items), busy: true, notice: '' });
    fresh.forEach((item) => this.follow(item, this.startJob(item, this.callbacksFor(item))));
  },

  /**
   * The upload of one file, as a job `{id, promise, abort}`. Every upload path answers in this
   * shape, so a second path (chosen here by `file.size`) plugs in without touching the rest.
   * @param {PickedFile} file
   * @param {JobCallbacks} callbacks
   * @returns {UploadJob}
   */
  startJob(file, callbacks) {
    const uploader = /** @type {ReturnType<typeof createUploader>} */ (this.uploader);
    return uploader.enqueue({ path: file.path, name: file.name, size: file.size }, callbacks);
  },

  /**
   * @param {Item} item
   * @returns {JobCallbacks}
   */
  callbacksFor(item) {
    return {
      onStart: () => this.patchItem(item.id, { state: 'uploading', stateText: STATE_TEXT.uploading }),
      onProgress: (p) => {
        const current = this.findItem(item.id);
        if (current && current.progress !== p.progress) this.patchItem(item.id, { progress: p.progress });
      },
    };
  },

  /**
   * Show a job's outcome on its item: 成功 with what the server recorded, or the failure.
   * @param {Item} item
   * @param {UploadJob} job
   */
  follow(item, job) {
    this.jobs[item.id] = job;
    job.promise.then(
      (/** @type {UploadResult} */ result) => {
        const record = result.record;
        /** @type {Partial<Item>} */
        const done = { state: 'success', stateText: STATE_TEXT.success, progress: 100, key: result.key, confirmKey: '' };
        if (record) Object.assign(done, { name: record.name, size: record.size, sizeText: formatSize(record.size), key: record.key });
        this.patchItem(item.id, done);
      },
      (/** @type {UploadError} */ error) => {
        const canceled = error && error.kind === 'aborted';
        this.patchItem(item.id, {
          state: canceled ? 'canceled' : 'failed',
          stateText: canceled ? STATE_TEXT.canceled : STATE_TEXT.failed,
          message: canceled ? '' : (error && error.message) || String(error),
          detail: (error && error.detail) || '',
          requestId: (error && error.requestId) || '',
          retryable: !!(error && error.retryable),
          confirmKey: (error && error.confirmKey) || '',
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

  /**
   * 重试 after a network failure: the same file goes through the queue again; a file that reached
   * OSS but was not recorded is only confirmed again.
   * @param {WechatMiniprogram.BaseEvent} event
   */
  retryUpload(event) {
    const item = this.findItem(Number(event.currentTarget.dataset.id));
    if (!item || item.state !== 'failed' || !item.retryable || this.jobs[item.id]) return;
    const uploader = /** @type {ReturnType<typeof createUploader>} */ (this.uploader);
    const confirming = !!item.confirmKey;
    this.patchItem(item.id, {
      state: confirming ? 'uploading' : 'queued',
      stateText: confirming ? STATE_TEXT.uploading : STATE_TEXT.queued,
      progress: confirming ? 100 : 0,
      message: '', detail: '', requestId: '', retryable: false,
    });
    this.setData({ busy: true });
    this.follow(item, confirming ? uploader.confirm(item.confirmKey) : this.startJob(item, this.callbacksFor(item)));
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
