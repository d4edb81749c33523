// Where the mini-program finds the signing server.
// Local mode (`make run`) listens on 127.0.0.1:5000; DevTools reaches it with
// 「不校验合法域名」 ticked. For a phone, use your HTTPS domain listed under request合法域名.
module.exports = {
  signerBaseUrl: 'http://127.0.0.1:5000',
  // WeChat allows 10 network calls at once; 3 uploads leave room for the rest of the app.
  maxConcurrentUploads: 3,
  // wx.chooseMessageFile / wx.chooseMedia accept up to 9 files per pick here.
  maxFilesPerPick: 9,
  // Files of this size or more go to OSS in parts (utils/multipart.js): resumable after a drop or
  // an app restart, 暂停/继续. Smaller ones keep the single form POST, which must finish within
  // WeChat's 60 s upload timeout: 5 MiB does at about 0.7 Mbit/s alone (2 Mbit/s for 3 at once).
  // Keep it at or above the server's part size (MULTIPART_PART_SIZE, 5 MiB by default).
  multipartThreshold: 5 * 1024 * 1024,
  // Parts in flight for one large file (one large file uploads at a time). With the 3 single
  // uploads this stays within WeChat's 10 concurrent network calls.
  multipartConcurrency: 3,
  // 我的文件 loads this many files at a time (the server allows 1 to 100).
  filesPageSize: 20,
};
