// OSS answers failed PostObject requests with an XML <Error> document; mini-programs have no
// DOMParser, and the document is flat, so a few regular expressions are enough.

/** @type {Record<string, string>} */
const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * @param {string} text
 * @returns {string}
 */
function decodeXml(text) {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, name) => {
    if (name[0] === '#') {
      const point = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return point > 0 && point <= 0x10ffff ? String.fromCodePoint(point) : whole;
    }
    return Object.prototype.hasOwnProperty.call(ENTITIES, name) ? ENTITIES[name] : whole;
  });
}

/**
 * @param {string} xml
 * @param {string} tag
 * @returns {string}
 */
function element(xml, tag) {
  const match = new RegExp('<' + tag + '>([\\s\\S]*?)</' + tag + '>').exec(xml);
  if (!match) return '';
  const cdata = /^\s*<!\[CDATA\[([\s\S]*?)\]\]>\s*$/.exec(match[1]);
  return cdata ? cdata[1] : decodeXml(match[1]).trim();
}

/**
 * Turn an OSS error body into `{code, message, requestId}`; null when it is not one.
 * @param {unknown} body the `data` string of a wx.uploadFile result
 * @returns {{code: string, message: string, requestId: string} | null}
 */
function parseOssError(body) {
  if (typeof body !== 'string' || body.indexOf('<Error>') === -1) return null;
  const code = element(body, 'Code');
  if (!code) return null;
  return {
    code,
    message: element(body, 'Message'),
    requestId: element(body, 'RequestId'),
  };
}

module.exports = { parseOssError };
