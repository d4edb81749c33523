// Every text the user reads (uploads, login, 我的文件, privacy), in one place. The detailed
// messages (setting names, HTTP codes) are for 开发版; 体验版 and 正式版 show the PLAIN sentences
// (utils/error-view.js picks one).

const LEGAL_DOMAIN_DOC = 'docs/legal-domain.md';

/**
 * The wx call that failed. `part`: a wx.request PUT of file bytes to OSS (a large file's part).
 * @typedef {'request' | 'uploadFile' | 'downloadFile' | 'part'} WxNetworkApi
 */

/** @type {Record<string, string>} */
const OSS_MESSAGES = {
  SignatureDoesNotMatch: '签名不匹配：OSS 算出的签名与表单中的不一致，请检查服务端的 AccessKey、地域（region）和签名代码',
  AccessDenied: 'OSS 拒绝了这次上传：表单不符合服务端签发的上传策略',
  EntityTooLarge: '文件超过了签名允许的大小',
  EntityTooSmall: '文件太小，不能上传空文件',
  FileAlreadyExists: '同名文件已存在，为避免覆盖已拒绝上传，请重新上传',
  InvalidAccessKeyId: '上传凭证无效：AccessKeyId 不存在或已停用，请检查服务端的凭证配置',
  InvalidSecurityToken: '临时上传凭证（SecurityToken）无效，请检查服务端的凭证配置',
  SecurityTokenExpired: '临时上传凭证已过期，请重新上传',
  RequestTimeTooSkewed: '时间偏差太大：签名服务器的时钟与 OSS 相差太多，请校准服务器时间',
  InvalidPolicyDocument: '上传策略（Policy）格式不正确，请检查服务端的签名代码',
  MalformedPOSTRequest: '上传请求不是合法的 multipart 表单',
  InvalidArgument: '上传表单的参数不正确',
  FieldItemTooLong: '上传表单的字段太长',
  InvalidObjectName: '对象名（key）不合法',
  NoSuchBucket: '存储空间（Bucket）不存在，请检查服务端的 Bucket 名称和地域',
  InvalidBucketName: '存储空间（Bucket）名称不合法，请检查服务端配置',
  InternalError: 'OSS 内部错误，请稍后重试',
  ServiceUnavailable: 'OSS 暂时不可用，请稍后重试',
  // UploadPart
  NoSuchUpload: 'OSS 上已没有这次分片上传（已完成、已取消或已被生命周期规则清理），请重新上传',
};

const POLICY_EXPIRED = '上传签名已过期，请重新上传';

/** @type {Record<string, string>} */
const SIGNER_MESSAGES = {
  InvalidFilename: '文件名不可用',
  InvalidSize: '文件大小不对，空文件不能上传',
  FileTooLarge: '文件太大，超过了允许的上限',
  ExtensionNotAllowed: '不支持上传这种类型的文件',
  CredentialsUnavailable: '服务端暂时拿不到上传凭证，请稍后重试',
  Unauthorized: '登录已失效，请重新进入小程序后再试',
  TooManyRequests: '操作太频繁，请稍后再试',
  // POST /api/login
  InvalidCode: '微信登录凭证无效或已用过，请点「重试」重新登录',
  MissingCode: '登录请求缺少微信登录凭证（code）',
  WeChatUnavailable: '暂时连不上微信登录服务，请稍后点「重试」',
  WeChatBadResponse: '微信登录服务返回了无法识别的内容，请稍后重试',
  WeChatError: '微信登录失败，请检查服务端的 WECHAT_APPID 和 WECHAT_APP_SECRET',
  UserBlocked: '微信判定该账号存在风险，已拒绝登录',
  RateLimitUnavailable: '服务端限流存储暂时不可用，请稍后重试',
  BadRequest: '签名请求的格式不正确',
  NotFound: '签名接口地址不对，请检查 config.js 中的 signerBaseUrl',
  MethodNotAllowed: '签名接口地址不对，请检查 config.js 中的 signerBaseUrl',
  InternalError: '签名服务出错了，请稍后重试',
  // /api/multipart (large files in parts)
  UploadNotFound: '服务端找不到这次分片上传（已完成、已取消或已过期），请重新上传',
  IncompleteUpload: '还有分片没有传到 OSS，请点「继续」补传',
  SizeMismatch: '已上传的分片与文件大小对不上，请重新上传',
  ObjectExists: '这个文件名在存储中已被占用，请重新上传',
  InvalidPartNumbers: '分片编号不正确',
  CompleteInProgress: '服务端正在保存这个文件，请稍后重试',
  UploadCompleting: '取消时文件已在保存，请到「我的文件」查看',
  QuotaExceeded: '存储空间已满，删除一些文件后再传',
  // Upload records and 我的文件
  ObjectNotFound: 'OSS 中没有找到这个文件，请重新上传',
  InvalidKey: '文件的 key 不合法，请重新上传',
  FileNotFound: '文件不存在或已被删除',
  InvalidId: '文件编号不合法',
  InvalidLimit: '每页的数量不合法',
  InvalidCursor: '列表的翻页位置已失效，请下拉刷新',
  // Any route
  InvalidRequestBody: '发给签名服务的请求格式不正确',
  StorageUnavailable: '服务端暂时连不上存储（OSS），请稍后重试',
  DatabaseUnavailable: '服务端数据库暂时不可用，请稍后重试',
};

/**
 * True for the 403 OSS gives when the policy's expiration has passed.
 * @param {{code: string, message: string}} error
 */
function isPolicyExpired(error) {
  return error.code === 'AccessDenied' && /policy expired/i.test(error.message || '');
}

/**
 * @param {{code: string, message: string}} error parsed OSS error
 * @returns {string}
 */
function ossMessage(error) {
  if (isPolicyExpired(error)) return POLICY_EXPIRED;
  return OSS_MESSAGES[error.code] || 'OSS 拒绝了这次上传（' + error.code + ')';
}

/**
 * @param {number} statusCode
 */
function ossStatusMessage(statusCode) {
  return 'OSS 返回了 HTTP ' + statusCode + '，上传没有成功';
}

/**
 * @param {string} code the signer's `error.code`
 * @param {number} statusCode
 * @param {string} [retryAfter] the Retry-After header (seconds), when the server sent one
 * @returns {string}
 */
function signerMessage(code, statusCode, retryAfter) {
  if (code === 'TooManyRequests' && /^\d+$/.test(retryAfter || '')) return '操作太频繁，请 ' + retryAfter + ' 秒后再试';
  if (SIGNER_MESSAGES[code]) return SIGNER_MESSAGES[code];
  if (statusCode >= 500) return '签名服务出错了（HTTP ' + statusCode + '），请稍后重试';
  return '签名服务拒绝了请求（HTTP ' + statusCode + '）';
}

/**
 * @param {WxNetworkApi} api `part` goes through wx.request, so request合法域名
 * @param {string} url
 */
function domainMessage(api, url) {
  const match = /^[a-z]+:\/\/[^/?#]+/i.exec(url || '');
  const list = (api === 'part' ? 'request' : api) + '合法域名';
  return (
    '地址 ' + (match ? match[0] : url) + ' 不在小程序的合法域名列表中（url not in domain list）。' +
    '请在 微信公众平台 → 管理（旧版后台为「开发」）→ 开发管理 → 开发设置 → 服务器域名 中把它加入「' + list + '」' +
    '（须为已备案的 HTTPS 域名，不能是 IP 或 localhost）；开发者工具中可勾选「不校验合法域名」临时调试。' +
    '详见 ' + LEGAL_DOMAIN_DOC
  );
}

/**
 * @param {WxNetworkApi} api `request`: the signer; `uploadFile` and `part` carry file bytes
 * @param {string} errMsg
 */
function networkMessage(api, errMsg) {
  const timedOut = /timeout|超时/i.test(errMsg || '');
  if (api === 'request') {
    return timedOut ? '连接签名服务超时，请检查网络后重试' : '连不上签名服务，请检查网络（或 config.js 中的地址）后重试';
  }
  if (api === 'downloadFile') return timedOut ? '下载文件超时，请检查网络后重试' : '网络中断，文件没有下载完，请重试';
  return timedOut ? '上传超时，请检查网络后重试' : '网络中断，上传没有完成，请重试';
}

/**
 * The upload reached OSS but the server could not record it (POST /api/files/confirm failed).
 * @param {string} reason the message of the confirm failure
 */
function confirmFailedMessage(reason) {
  return '文件已存到 OSS，但服务端没能登记这次上传：' + reason;
}

/**
 * wx.openDocument opens only these types (miniprogram-api-typings `OpenDocumentOption.fileType`).
 * @param {string} extension without the dot, may be empty
 * @param {string[]} supported
 */
function cannotOpenMessage(extension, supported) {
  const what = extension ? ' .' + extension + ' 文件' : '这种文件';
  return '小程序不能直接打开' + what + '（只支持 ' + supported.join('、') + '）';
}

/**
 * errno 112: the picker's API is not declared in the mini-program's privacy guide. The menu
 * path and the labels are the platform's (用户隐私保护指引, developers.weixin.qq.com
 * framework/user-privacy/ and its PrivacyAuthorize page).
 * @param {'chooseMessageFile' | 'chooseMedia'} api
 */
function privacyUndeclaredMessage(api) {
  const label = api === 'chooseMessageFile' ? '收集你选中的文件' : '收集你选中的照片或视频信息';
  return (
    '小程序的《用户隐私保护指引》还没有声明「' + label + '」，微信因此禁止了这个操作（errno 112）。' +
    '请管理员在小程序后台「账号设置 - 服务内容声明 - 用户隐私保护指引 - 去完善」中补充这一项'
  );
}

// One plain sentence per failure for 体验版 and 正式版: no API path, setting, code file, English or errMsg.
const PLAIN = {
  NETWORK: '网络不可用，请检查网络后重试',
  SERVICE_UNREACHABLE: '暂时连不上服务，请稍后重试',
  SERVICE_BUSY: '服务暂时不可用，请稍后重试',
  LOGIN_EXPIRED: '登录已过期，请重新进入小程序',
  LOGIN_EXPIRED_RETRY: '登录已过期，请点「重试」重新登录',
  LOGIN_FAILED: '登录没有成功，请稍后重试',
  ACCOUNT_BLOCKED: '当前账号暂时不能使用这个功能',
  TOO_FREQUENT: '操作太频繁，请稍后再试',
  TOO_LARGE: '文件太大，不能上传',
  TYPE_NOT_ALLOWED: '不支持上传这种类型的文件',
  EMPTY_FILE: '不能上传空文件',
  BAD_NAME: '文件名不可用，请改名后再传',
  UPLOAD_FAILED: '上传失败，请稍后重试',
  UPLOAD_AGAIN: '上传没有完成，请重新上传',
  NOT_SAVED: '文件已传完，但还没有保存到我的文件，请重试',
  OLD_WECHAT: '当前微信版本过低，请升级微信后重试',
  FILE_UNREADABLE: '读取文件失败，请重新选择文件',
  CHOOSE_FAILED: '暂时不能选择文件，请稍后再试',
  LIST_FAILED: '文件列表没有加载出来，请稍后重试',
  DELETE_FAILED: '没能删除，请稍后重试',
  OPEN_FAILED: '没能打开这个文件，请稍后重试',
  CANNOT_OPEN: '小程序不能直接打开这种文件',
  FILE_GONE: '文件不存在或已被删除',
  LINK_EXPIRED: '链接已过期，请下拉刷新后再试',
};

const MESSAGES = {
  ABORTED: '已取消',
  BAD_SIGNER_RESPONSE: '签名服务返回的内容无法识别，请检查 config.js 中的 signerBaseUrl',
  LOGIN_FAILED: '登录失败，请稍后重试',
  WX_LOGIN_FAILED: '微信登录（wx.login）没有成功，请检查网络后点「重试」',
  LOGIN_REQUIRED: '请先登录：登录成功后才能上传',
  CHOOSE_FAILED: '没能选择文件，请重试',
  UPLOAD_FAILED: '上传没有成功，请重试',
  // Large files in parts
  OLD_BASE_LIBRARY: '当前微信版本过低（小程序基础库低于 2.10.0），不能分片上传大文件，请升级微信后重试',
  READ_FAILED: '读取文件失败，文件可能已被清理，请重新选择文件',
  FILE_CHANGED: '文件在上传过程中变了（读到的长度不对），请重新选择文件',
  BAD_PART_RESPONSE: '上传分片时收到的不是 OSS 的应答（可能连着需要网页登录的 Wi-Fi），请检查网络后重试',
  PART_SIGNATURE_MISMATCH: '分片签名不匹配：请求头须与服务端签名时完全一致（如 Content-Type），请检查服务端的 AccessKey、地域（region）和分片签名代码',
  CONFIG_UNREACHABLE: '连不上签名服务，读不到服务端配置（/api/config），请检查网络或 config.js 中的 signerBaseUrl 后点「重试」',
  CONFIG_TIMEOUT: '连接签名服务超时，读不到服务端配置（/api/config），请检查网络后点「重试」',
  // errno 104 / 103: the user refused the privacy prompt. Within 10 s of a refusal WeChat fails at
  // once without asking again (PrivacyAuthorize guide).
  PRIVACY_DENIED: '你没有同意《用户隐私保护指引》，所以没能打开选择器。需要上传时请再点一次，并在弹窗中点「同意」（刚拒绝后约 10 秒内不会再询问）',
  PRIVACY_BANNED: '微信已收回这个小程序选择文件的权限（privacy api banned）：提审时勾选了「未采集隐私」或没有声明隐私保护指引，请管理员补充《用户隐私保护指引》后重新提审',
  PRIVACY_CONTRACT_NAME: '《用户隐私保护指引》',
  FILES_EMPTY: '还没有文件，上传的文件都会保存在这里',
  FILES_HINT: '点文件预览，长按可删除',
  FILES_ACTION_PREVIEW: '预览',
  FILES_ACTION_OPEN: '打开',
  FILES_ACTION_DELETE: '删除',
  FILES_LOAD_FAILED: '文件列表没有加载出来：',
  DELETE_CONFIRM_TITLE: '删除文件',
  DELETE_CONFIRM_TEXT: '删除后不能恢复，确定删除「{name}」吗？',
  DELETE_CONFIRM_BUTTON: '删除',
  DELETED: '已删除',
  DELETE_FAILED: '没能删除：',
  OPEN_FAILED: '没能打开这个文件，请重试',
  PREVIEW_FAILED: '没能预览图片：',
  LINK_EXPIRED: '文件链接已过期或无权访问，请下拉刷新后再试',
  BAD_DOWNLOAD: '下载文件失败（HTTP {status}）',
  NO_DOCUMENT_SUPPORT: '当前微信版本不支持打开文档，请升级微信后再试',
  PART_SIZE_MISMATCH: '读到的这一片与服务端签名的大小不一致，没有发送，请重新选择文件上传',
  // Storage quota (403 QuotaExceeded); the numbers come from GET /api/usage.
  QUOTA_FULL: '存储空间已满：已用 {used} / {quota}，删除一些文件后再传',
  QUOTA_FILES_FULL: '文件数已达上限：已存 {count} / {limit} 个，删除一些文件后再传',
  QUOTA_FULL_PLAIN: '存储空间已满，删除一些文件后再传',
  USAGE: '已用 {used}',
  USAGE_OF: '已用 {used} / {quota}',
  COPY_TITLE: '错误信息',
  // The upload page
  UPLOAD_HINT: '一次最多选 {count} 个文件；大文件可暂停，断网后能接着传。',
  LOGIN_PENDING_WHY: '正在连接服务，连上后就能选择文件',
  LOGIN_FAILED_WHY: '连上服务后才能选择文件，请点「重试」',
  LOGIN_TITLE: '未登录',
  UNREACHABLE_TITLE: '连不上服务',
  CANCEL_CONFIRM_TITLE: '取消上传？',
  CANCEL_CONFIRM_TEXT: '已上传 {percent}%，取消后需要从头再传',
  CANCEL_CONFIRM_BUTTON: '取消上传',
  CANCEL_KEEP_BUTTON: '继续传',
  HELD: '已传 {held} / {size}',
};

// What each upload card says about its state.
const UPLOAD_STATE = {
  queued: '排队中',
  uploading: '上传中',
  saving: '保存中',
  success: '已保存',
  failed: '没有传完',
  canceled: '已取消',
  paused: '已暂停',
  resumable: '上次没传完',
};

module.exports = {
  SIGNER_MESSAGES,
  PLAIN,
  MESSAGES,
  UPLOAD_STATE,
  isPolicyExpired,
  ossMessage,
  ossStatusMessage,
  signerMessage,
  domainMessage,
  networkMessage,
  confirmFailedMessage,
  cannotOpenMessage,
  privacyUndeclaredMessage,
};
