// Readable names for photos and videos from 相册/拍摄: WeChat hands over temporary files named
// `tmp_<hex>.jpg`, which is what the record and 我的文件 would otherwise show.

const PREFIX = { image: '照片', video: '视频' };
const FALLBACK_EXTENSION = { image: 'jpg', video: 'mp4' };

/** @param {number} n */
function twoDigits(n) {
  return (n < 10 ? '0' : '') + n;
}

/**
 * `20261206_101532` in the phone's local time.
 * @param {Date} at
 */
function stamp(at) {
  return String(at.getFullYear()) + twoDigits(at.getMonth() + 1) + twoDigits(at.getDate()) + '_' +
    twoDigits(at.getHours()) + twoDigits(at.getMinutes()) + twoDigits(at.getSeconds());
}

/**
 * A namer for one page: `照片_20261206_101532.jpg`, and `照片_20261206_101532_2.jpg` for the next one
 * picked within the same second.
 */
function createMediaNamer() {
  /** @type {Record<string, number>} names handed out so far, by name without extension */
  const taken = {};

  /**
   * @param {'image' | 'video'} fileType chooseMedia's `fileType`
   * @param {string} tempPath the temporary file (its extension is kept)
   * @param {Date} at when it was picked
   */
  return function mediaName(fileType, tempPath, at) {
    const kind = fileType === 'video' ? 'video' : 'image';
    const match = /\.([A-Za-z0-9]{1,5})$/.exec(tempPath || '');
    const extension = match ? match[1].toLowerCase() : FALLBACK_EXTENSION[kind];
    const base = PREFIX[kind] + '_' + stamp(at);
    const count = (taken[base] || 0) + 1;
    taken[base] = count;
    return (count === 1 ? base : base + '_' + count) + '.' + extension;
  };
}

module.exports = { createMediaNamer };
