// The upload screen: pick files, show each one's progress and outcome, and the privacy prompt the
// pickers may need. The network work lives in utils/uploader.js (one form POST) and
// utils/multipart.js (files of config.multipartThreshold or more, in parts: 暂停/继续, and 继续上传
// for a file picked again after a drop or a restart).

const config = require('../../config');
const { createUploader } = require('../../utils/uploader');
const { createMultipartUploader } = require('../../utils/multipart');
const { MESSAGES } = require('../../utils/messages');
const { formatSize } = require('../../utils/format');
const privacy = require('../../utils/privacy');

const STATE_TEXT = {
  queued: '排队中',
  uploading: '上传中',
  success: '成功',
  failed: '失败',
  canceled: '已取消',
  paused: '已暂停',
  resumable: '上次没传完',
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
 * @typedef {import('../../utils/resume-store').SavedUpload} SavedUpload
 * @typedef {'queued' | 'uploading' | 'success' | 'failed' | 'canceled' | 'paused' | 'resumable'} ItemState
 *   paused: a large file stopped by 暂停; resumable: a large file OSS already holds part of, waiting
 *   for 继续上传 or 重新上传.
 * @typedef {{
 *   id: number, name: string, path: string, size: number, sizeText: string, isImage: boolean,
 *   state: ItemState, stateText: string, progress: number, key: string, message: string,
 *   detail: string, requestId: string, retryable: boolean, confirmKey: string, multipart: boolean
 * }} Item
 *   confirmKey: stored in OSS, not yet recorded by the server: 重试 confirms it again;
 *   multipart: uploaded in parts (config.multipartThreshold or more).
 * @typedef {UploadJob & {pause?: () => void, resume?: () => void}} Job
 */

/**
 * Whether a file goes in parts rather than in one form POST.
 * @param {number} size
 */
function isLarge(size) {
  return size >= config.multipartThreshold;
}

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
    multipartThresholdText: formatSize(config.multipartThreshold),
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
  /** @type {ReturnType<typeof createMultipartUploader> | null} */
  multipart: null,
  /** @type {Record<number, Job>} running, queued or paused uploads by item id */
  jobs: {},
  /** @type {Record<number, SavedUpload | null>} 继续上传 offers by item id (null: still looking) */
  offers: {},
  nextItemId: 1,
  /** @type {(() => void) | null} */
  stopWatchingLogin: null,
  /** @type {ReturnType<typeof privacy.createPrivacyPrompt> | null} */
  privacy: null,

  onLoad() {
    const app = /** @type {AppApi} */ (getApp());
    this.jobs = {};
    this.offers = {};
    if (app && app.loginStatus && app.onLoginChange) {
      this.showLogin(app.loginStatus());
      this.stopWatchingLogin = app.onLoginChange((status) => this.showLogin(status));
    }
    /** @type {import('../../utils/api').TokenGetter | null} */
    const getToken = app && app.getToken ? (options) => /** @type {any} */ (app).getToken(options) : null;
    this.uploader = createUploader({ wx, baseUrl: config.signerBaseUrl, concurrency: config.maxConcurrentUploads, getToken });
    this.multipart = createMultipartUploader({ wx, baseUrl: config.signerBaseUrl, concurrency: config.multipartConcurrency, getToken });
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
    // A large file is only paused: what OSS holds stays, and picking the file again offers 继续上传.
    Object.keys(this.jobs).forEach((id) => {
      const job = this.jobs[Number(id)];
      if (job.pause) job.pause();
      else job.abort();
    });
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
      multipart: isLarge(f.size),
    }));
    this.setData({ items: fresh.concat(this.data.items), busy: true, notice: '' });
    fresh.forEach((item) => (item.multipart ? this.offerOrRun(item, true) : this.follow(item, this.startJob(item, this.callbacksFor(item)))));
  },

  /**
   * The upload of one file, as a job `{id, promise, abort}` that settles with an UploadResult.
   * The one place that picks the path by `file.size`: one form POST, or parts (these jobs also
   * pause and resume, and continue `resume`, a saved upload from findResumable, when given).
   * @param {PickedFile} file
   * @param {JobCallbacks & {onPause?: () => void}} callbacks
   * @param {SavedUpload | null} [resume]
   * @returns {Job}
   */
  startJob(file, callbacks, resume) {
    const picked = { path: file.path, name: file.name, size: file.size };
    if (isLarge(file.size)) {
      const multipart = /** @type {ReturnType<typeof createMultipartUploader>} */ (this.multipart);
      return multipart.enqueue(picked, Object.assign({ resume: resume || null }, callbacks));
    }
    const uploader = /** @type {ReturnType<typeof createUploader>} */ (this.uploader);
    return uploader.enqueue(picked, callbacks);
  },

  /**
   * @param {Item} item
   * @returns {JobCallbacks & {onPause: () => void}}
   */
  callbacksFor(item) {
    return {
      onStart: () => this.patchItem(item.id, { state: 'uploading', stateText: STATE_TEXT.uploading }),
      onProgress: (p) => {
        const current = this.findItem(item.id);
        if (current && current.progress !== p.progress) this.patchItem(item.id, { progress: p.progress });
      },
      onPause: () => this.patchItem(item.id, { state: 'paused', stateText: STATE_TEXT.paused }),
    };
  },

  /**
   * A large file OSS already holds part of: ask (继续上传 / 重新上传) or, after 重试, just continue.
   * @param {Item} item
   * @param {boolean} ask
   */
  offerOrRun(item, ask) {
    const multipart = /** @type {ReturnType<typeof createMultipartUploader>} */ (this.multipart);
    // Counted as busy from now on: the page waits for the lookup (and the answer).
    this.offers[item.id] = null;
    multipart.findResumable({ path: item.path, name: item.name, size: item.size }).then((saved) => {
      if (saved && ask) {
        this.offers[item.id] = saved;
        this.patchItem(item.id, { state: 'resumable', stateText: STATE_TEXT.resumable });
        return;
      }
      delete this.offers[item.id];
      this.follow(item, this.startJob(item, this.callbacksFor(item), saved));
    });
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
      this.updateBusy();
    });
  },

  /** Busy while any upload runs, waits or is paused, or a 继续上传 offer is open. */
  updateBusy() {
    this.setData({ busy: Object.keys(this.jobs).length + Object.keys(this.offers).length > 0 });
  },

  /** @param {WechatMiniprogram.BaseEvent} event */
  cancelUpload(event) {
    const id = Number(event.currentTarget.dataset.id);
    const offer = this.offers[id];
    const item = this.findItem(id);
    if (offer && item) {
      // 取消 an offer: the parts OSS holds are aborted too.
      delete this.offers[id];
      const discarded = this.startJob(item, {}, offer);
      discarded.promise.catch(() => {}); // settles as 已取消, which the item already says
      discarded.abort();
      this.patchItem(id, { state: 'canceled', stateText: STATE_TEXT.canceled });
      this.updateBusy();
      return;
    }
    const job = this.jobs[id];
    if (job) job.abort();
  },

  /** 暂停 a large file: the parts OSS holds stay there. */
  pauseUpload(/** @type {WechatMiniprogram.BaseEvent} */ event) {
    const job = this.jobs[Number(event.currentTarget.dataset.id)];
    if (job && job.pause) job.pause();
  },

  /** 继续 after 暂停. */
  resumeUpload(/** @type {WechatMiniprogram.BaseEvent} */ event) {
    const id = Number(event.currentTarget.dataset.id);
    const job = this.jobs[id];
    if (!job || !job.resume) return;
    this.patchItem(id, { state: 'queued', stateText: STATE_TEXT.queued });
    job.resume();
  },

  /**
   * 继续上传 (`data-fresh` absent) or 重新上传 (`data-fresh`) for a file OSS already holds part of.
   * @param {WechatMiniprogram.BaseEvent} event
   */
  answerOffer(event) {
    const id = Number(event.currentTarget.dataset.id);
    const offer = this.offers[id];
    const item = this.findItem(id);
    if (!offer || !item) return;
    delete this.offers[id];
    this.patchItem(id, { state: 'queued', stateText: STATE_TEXT.queued });
    this.follow(item, this.startJob(item, this.callbacksFor(item), event.currentTarget.dataset.fresh ? null : offer));
  },

  /**
   * 重试 after a network failure: the same file goes through the queue again (a large file
   * continues from what OSS holds, without asking); a file that reached OSS but was not recorded
   * is only confirmed again.
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
    if (confirming) this.follow(item, uploader.confirm(item.confirmKey));
    else if (item.multipart) this.offerOrRun(item, false);
    else this.follow(item, this.startJob(item, this.callbacksFor(item)));
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
