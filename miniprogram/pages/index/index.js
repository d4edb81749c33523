// The upload screen: pick files (more can be picked while others upload, pause or wait: they
// queue), show each one's progress and outcome, and the privacy prompt the pickers may need. The
// network work lives in utils/uploader.js (one form POST) and utils/multipart.js (files of
// config.multipartThreshold or more, in parts: 暂停/继续, and 继续上传 for a file picked again after a
// drop or a restart). Failures read as utils/error-view.js words them for this build.

const config = require('../../config');
const { createUploader } = require('../../utils/uploader');
const { createMultipartUploader } = require('../../utils/multipart');
const { createFileApi } = require('../../utils/files');
const { MESSAGES, UPLOAD_STATE } = require('../../utils/messages');
const { formatSize, quotaMessage } = require('../../utils/format');
const { createMediaNamer } = require('../../utils/media-names');
const { isDeveloperBuild, errorView, isUnreachable, copySupportText } = require('../../utils/error-view');
const privacy = require('../../utils/privacy');

const FILES_TAB = '/pages/files/index';
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
 * @typedef {'queued' | 'uploading' | 'saving' | 'success' | 'failed' | 'canceled' | 'paused' | 'resumable'} ItemState
 *   saving: every byte sent, the server is recording it; paused: a large file stopped by 暂停;
 *   resumable: a large file OSS already holds part of, waiting for 继续上传 or 重新上传.
 * @typedef {{
 *   id: number, name: string, path: string, size: number, sizeText: string, isImage: boolean,
 *   state: ItemState, stateText: string, progress: number, key: string, message: string,
 *   detail: string, requestId: string, support: string, retryable: boolean, confirmKey: string,
 *   multipart: boolean, quotaFull: boolean, heldBytes: number, heldText: string
 * }} Item
 *   confirmKey: stored in OSS, not yet recorded by the server: 重试 confirms it again;
 *   multipart: uploaded in parts (config.multipartThreshold or more); support: what
 *   「复制错误信息」 copies; quotaFull: refused for the storage quota (offers 去我的文件);
 *   heldBytes / heldText: what OSS holds of a resumable upload.
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
    hint: '',
    notice: '',
    /** Without login support in the app, uploads go without a token, as with login off. */
    login: { state: 'off', title: '', message: '', support: '' },
    /** True while logging in or after a failed login: no upload can start; `disabledWhy` says so. */
    loginBlocked: false,
    disabledWhy: '',
    /** The privacy prompt, shown when WeChat asks before a picker runs. */
    privacyPrompt: false,
    privacyContractName: MESSAGES.PRIVACY_CONTRACT_NAME,
  },

  /** @type {ReturnType<typeof createUploader> | null} */
  uploader: null,
  /** @type {ReturnType<typeof createMultipartUploader> | null} */
  multipart: null,
  /** @type {ReturnType<typeof createFileApi> | null} for the storage usage behind a quota refusal */
  fileApi: null,
  /** 开发版: failures in developer words. */
  developer: false,
  /** @type {ReturnType<typeof createMediaNamer> | null} */
  mediaName: null,
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
    this.developer = isDeveloperBuild(wx);
    this.mediaName = createMediaNamer();
    this.setData({ hint: MESSAGES.UPLOAD_HINT.replace('{count}', String(config.maxFilesPerPick)) });
    if (app && app.loginStatus && app.onLoginChange) {
      this.showLogin(app.loginStatus());
      this.stopWatchingLogin = app.onLoginChange((status) => this.showLogin(status));
    }
    /** @type {import('../../utils/api').TokenGetter | null} */
    const getToken = app && app.getToken ? (options) => /** @type {any} */ (app).getToken(options) : null;
    this.uploader = createUploader({ wx, baseUrl: config.signerBaseUrl, concurrency: config.maxConcurrentUploads, getToken });
    this.multipart = createMultipartUploader({ wx, baseUrl: config.signerBaseUrl, concurrency: config.multipartConcurrency, getToken });
    this.fileApi = createFileApi({ wx, baseUrl: config.signerBaseUrl, getToken });
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
    const failed = status.state === 'failed';
    const view = failed ? errorView(status.error || status.message, { action: 'login', developer: this.developer, retry: true }) : null;
    const why = { pending: MESSAGES.LOGIN_PENDING_WHY, failed: MESSAGES.LOGIN_FAILED_WHY };
    this.setData({
      login: {
        state: status.state,
        title: failed ? (isUnreachable(status.error) ? MESSAGES.UNREACHABLE_TITLE : MESSAGES.LOGIN_TITLE) : '',
        message: view ? view.message : '',
        support: view ? view.support : '',
      },
      loginBlocked: status.state === 'pending' || failed,
      disabledWhy: /** @type {Record<string, string>} */ (why)[status.state] || '',
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
    if (this.refuseWhileLoggedOut()) return;
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

  /** 相册 / 拍摄: images and videos, named by when they were picked (never `tmp_<hex>`). */
  chooseAndUploadMedia() {
    if (this.refuseWhileLoggedOut()) return;
    wx.chooseMedia({
      count: config.maxFilesPerPick,
      mediaType: ['image', 'video'],
      sourceType: ['album', 'camera'],
      success: (res) => {
        const at = new Date();
        const name = /** @type {ReturnType<typeof createMediaNamer>} */ (this.mediaName);
        this.startBatch(res.tempFiles.map((f) => ({
          path: f.tempFilePath,
          name: name(f.fileType === 'video' ? 'video' : 'image', f.tempFilePath, at),
          size: f.size,
          isImage: f.fileType === 'image',
        })));
      },
      fail: (err) => this.pickFailed('chooseMedia', err),
    });
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
    const message = privacy.pickFailureMessage(api, err, this.developer);
    if (message) this.setData({ notice: message });
  },

  /**
   * New files go on top and join the queues (the uploaders run 3 small files and one large file at
   * a time), whatever else is running, paused or waiting.
   * @param {Array<PickedFile & {isImage: boolean}>} files
   */
  startBatch(files) {
    if (this.data.loginBlocked || files.length === 0) return;
    /** @type {Item[]} */
    const fresh = files.map((f) => ({
      id: this.nextItemId++,
      name: f.name,
      path: f.path,
      size: f.size,
      sizeText: formatSize(f.size),
      isImage: f.isImage,
      state: 'queued',
      stateText: UPLOAD_STATE.queued,
      progress: 0,
      key: '',
      message: '',
      detail: '',
      requestId: '',
      support: '',
      retryable: false,
      confirmKey: '',
      multipart: isLarge(f.size),
      quotaFull: false,
      heldBytes: 0,
      heldText: '',
    }));
    this.setData({ items: fresh.concat(this.data.items), notice: '' });
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
      onStart: () => this.patchItem(item.id, { state: 'uploading', stateText: UPLOAD_STATE.uploading }),
      onProgress: (p) => {
        const current = this.findItem(item.id);
        if (!current || current.progress === p.progress) return;
        // Every byte is out: what is left is the server recording it (no 取消 any more).
        const saving = p.progress >= 100 && current.state === 'uploading';
        this.patchItem(item.id, saving ? { progress: 100, state: 'saving', stateText: UPLOAD_STATE.saving } : { progress: p.progress });
      },
      onPause: () => this.patchItem(item.id, { state: 'paused', stateText: UPLOAD_STATE.paused }),
    };
  },

  /**
   * A large file OSS already holds part of: ask (继续上传 / 重新上传) or, after 重试, just continue.
   * @param {Item} item
   * @param {boolean} ask
   */
  offerOrRun(item, ask) {
    const multipart = /** @type {ReturnType<typeof createMultipartUploader>} */ (this.multipart);
    // Held from now on: the page waits for the lookup (and the answer).
    this.offers[item.id] = null;
    multipart.findResumable({ path: item.path, name: item.name, size: item.size }).then((saved) => {
      if (saved && ask) {
        this.offers[item.id] = saved;
        this.patchItem(item.id, { state: 'resumable', stateText: UPLOAD_STATE.resumable });
        multipart.heldBytes(saved).then((held) => {
          if (held === null || !this.offers[item.id]) return;
          const heldText = MESSAGES.HELD.replace('{held}', formatSize(held)).replace('{size}', formatSize(item.size));
          this.patchItem(item.id, { heldBytes: held, heldText });
        });
        return;
      }
      delete this.offers[item.id];
      this.follow(item, this.startJob(item, this.callbacksFor(item), saved));
    });
  },

  /**
   * Show a job's outcome on its item: 已保存 with what the server recorded, or the failure.
   * @param {Item} item
   * @param {UploadJob} job
   */
  follow(item, job) {
    this.jobs[item.id] = job;
    job.promise.then(
      (/** @type {UploadResult} */ result) => {
        const record = result.record;
        /** @type {Partial<Item>} */
        const done = { state: 'success', stateText: UPLOAD_STATE.success, progress: 100, key: result.key, confirmKey: '' };
        if (record) Object.assign(done, { name: record.name, size: record.size, sizeText: formatSize(record.size), key: record.key });
        this.patchItem(item.id, done);
      },
      (/** @type {UploadError} */ error) => this.showFailure(item.id, error)
    ).then(() => {
      delete this.jobs[item.id];
    });
  },

  /**
   * @param {number} id
   * @param {UploadError} error
   */
  showFailure(id, error) {
    if (error && error.kind === 'aborted') {
      this.patchItem(id, { state: 'canceled', stateText: UPLOAD_STATE.canceled, message: '', detail: '', requestId: '', support: '' });
      return;
    }
    const view = errorView(error, { action: 'upload', developer: this.developer });
    const quotaFull = !!error && error.code === 'QuotaExceeded';
    this.patchItem(id, {
      state: 'failed',
      stateText: UPLOAD_STATE.failed,
      message: quotaFull ? quotaMessage(null) : view.message,
      detail: view.detail,
      requestId: view.requestId,
      support: view.support,
      retryable: !!(error && error.retryable),
      confirmKey: (error && error.confirmKey) || '',
      quotaFull,
    });
    // The numbers come from a fresh look at the usage, never from the server's message.
    if (quotaFull && this.fileApi) {
      this.fileApi.usage().then((usage) => this.patchItem(id, { message: quotaMessage(usage) }), () => {});
    }
  },

  /**
   * 取消: a large file OSS already holds part of asks first (its progress would be lost).
   * @param {WechatMiniprogram.BaseEvent} event
   */
  cancelUpload(event) {
    const id = Number(event.currentTarget.dataset.id);
    const item = this.findItem(id);
    if (!item) return;
    const held = id in this.offers ? item.heldBytes : item.multipart ? Math.floor((item.progress * item.size) / 100) : 0;
    if (held <= 0) return this.cancelNow(id);
    wx.showModal({
      title: MESSAGES.CANCEL_CONFIRM_TITLE,
      content: MESSAGES.CANCEL_CONFIRM_TEXT.replace('{percent}', String(Math.max(1, Math.floor((held * 100) / item.size)))),
      confirmText: MESSAGES.CANCEL_CONFIRM_BUTTON,
      cancelText: MESSAGES.CANCEL_KEEP_BUTTON,
      confirmColor: '#c9353f',
      success: (res) => {
        if (res.confirm) this.cancelNow(id);
      },
    });
  },

  /**
   * Cancel on the uploader (and on the server). A large file whose cancel lost against its
   * completion ends as 已保存, not 已取消: follow() shows what the job settles with.
   * @param {number} id
   */
  cancelNow(id) {
    const offer = this.offers[id];
    const item = this.findItem(id);
    if (offer && item) {
      // 取消 an offer: the parts OSS holds are aborted too.
      delete this.offers[id];
      const discarded = this.startJob(item, {}, offer);
      discarded.abort();
      this.follow(item, discarded);
      return;
    }
    const job = this.jobs[id];
    if (job) job.abort();
  },

  /** 已保存到我的文件, or 去我的文件 after a quota refusal. */
  openFiles() {
    wx.switchTab({ url: FILES_TAB });
  },

  /**
   * 复制错误信息: the codes support needs.
   * @param {WechatMiniprogram.BaseEvent} event
   */
  copyError(event) {
    const id = event.currentTarget.dataset.id;
    const support = id === 'login' ? this.data.login.support : (this.findItem(Number(id)) || { support: '' }).support;
    if (support) copySupportText(wx, support);
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
    this.patchItem(id, { state: 'queued', stateText: UPLOAD_STATE.queued });
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
    this.patchItem(id, { state: 'queued', stateText: UPLOAD_STATE.queued });
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
      state: confirming ? 'saving' : 'queued',
      stateText: confirming ? UPLOAD_STATE.saving : UPLOAD_STATE.queued,
      progress: confirming ? 100 : 0,
      message: '', detail: '', requestId: '', support: '', retryable: false,
    });
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
