// How sizes, times and storage usage read on screen.

const { MESSAGES } = require('./messages');

/** @param {number} bytes */
function formatSize(bytes) {
  if (bytes < 1024) return bytes + ' B';
  if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + ' KB';
  if (bytes < 1024 * 1024 * 1024) return (bytes / 1024 / 1024).toFixed(1) + ' MB';
  return (bytes / 1024 / 1024 / 1024).toFixed(2) + ' GB';
}

/** @param {number} n */
function twoDigits(n) {
  return (n < 10 ? '0' : '') + n;
}

/**
 * An ISO 8601 time (the server's `createdAt`, UTC) in the phone's time zone: 2026-12-01 18:00.
 * Anything unparsable is shown as it came.
 * @param {string} iso
 */
function formatTime(iso) {
  const date = new Date(iso);
  if (isNaN(date.getTime())) return String(iso || '');
  return date.getFullYear() + '-' + twoDigits(date.getMonth() + 1) + '-' + twoDigits(date.getDate()) + ' ' +
    twoDigits(date.getHours()) + ':' + twoDigits(date.getMinutes());
}

/**
 * A size without trailing zeros, for round figures: 120 MB, 1 GB, 1.5 GB.
 * @param {number} bytes
 */
function formatSizeShort(bytes) {
  return formatSize(bytes).replace(/(\.\d*?)0+ /, '$1 ').replace('. ', ' ');
}

/**
 * The usage line of 我的文件: 已用 120 MB / 1 GB (已用 120 MB without a quota).
 * @param {import('./files').Usage} usage
 */
function formatUsage(usage) {
  const used = formatSizeShort(usage.usedBytes);
  if (!usage.quotaBytes) return MESSAGES.USAGE.replace('{used}', used);
  return MESSAGES.USAGE_OF.replace('{used}', used).replace('{quota}', formatSizeShort(usage.quotaBytes));
}

/**
 * Why an upload was refused for the quota, in numbers (the server's own message is not parsed).
 * @param {import('./files').Usage | null} usage null when /api/usage could not say
 */
function quotaMessage(usage) {
  if (usage && usage.quotaFiles && usage.fileCount >= usage.quotaFiles && !(usage.quotaBytes && usage.usedBytes >= usage.quotaBytes)) {
    return MESSAGES.QUOTA_FILES_FULL.replace('{count}', String(usage.fileCount)).replace('{limit}', String(usage.quotaFiles));
  }
  if (!usage || !usage.quotaBytes) return MESSAGES.QUOTA_FULL_PLAIN;
  return MESSAGES.QUOTA_FULL.replace('{used}', formatSizeShort(usage.usedBytes + usage.reservedBytes)).replace('{quota}', formatSizeShort(usage.quotaBytes));
}

module.exports = { formatSize, formatTime, formatUsage, quotaMessage };
