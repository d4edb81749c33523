// How sizes and times read on screen.

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

module.exports = { formatSize, formatTime };
