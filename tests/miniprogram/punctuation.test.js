// Full-width punctuation next to Chinese in every text the user reads: the strings of
// utils/messages.js and the text of every WXML template (string literals inside {{ }} included).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.resolve(__dirname, '../../miniprogram');
const CHINESE = /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef「」《》…]/;
const HALF_WIDTH = ',;:?!()';

/** Half-width `, ; : ? ! ( )` whose nearest non-space neighbour on either side is Chinese. */
function offences(text) {
  const found = [];
  for (let i = 0; i < text.length; i += 1) {
    if (!HALF_WIDTH.includes(text[i])) continue;
    let before = i - 1;
    while (before >= 0 && text[before] === ' ') before -= 1;
    let after = i + 1;
    while (after < text.length && text[after] === ' ') after += 1;
    if (CHINESE.test(text[before] || '') || CHINESE.test(text[after] || '')) found.push(text.slice(Math.max(0, i - 8), i + 9));
  }
  return found;
}

/** Every string literal of a JavaScript source (template pieces included). */
function stringLiterals(source) {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, source);
  const found = [];
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === ts.SyntaxKind.StringLiteral || kind === ts.SyntaxKind.NoSubstitutionTemplateLiteral) found.push(scanner.getTokenValue());
  }
  return found;
}

/** What a WXML template shows: text between tags, and the string literals of its {{ }} expressions. */
function wxmlTexts(wxml) {
  const texts = [];
  const withoutTags = wxml.replace(/<[^>]*>/g, '\n');
  for (const piece of withoutTags.split(/\{\{[\s\S]*?\}\}|\n/)) if (piece.trim()) texts.push(piece.trim());
  for (const [, expression] of wxml.matchAll(/\{\{([\s\S]*?)\}\}/g)) texts.push(...stringLiterals(expression));
  return texts;
}

test('the checker finds half-width punctuation next to Chinese, and only there', () => {
  assert.deepEqual(offences('上传失败, 请重试').length, 1);
  assert.deepEqual(offences('签名 (HTTP 500)').length, 1);
  assert.deepEqual(offences('错误 (x)').length, 1);
  assert.deepEqual(offences('上传失败，请重试（HTTP 500）').length, 0);
  assert.deepEqual(offences('RequestId: abc, x').length, 0);
  assert.deepEqual(wxmlTexts('<text>{{a ? \'加载中, 稍等\' : b}}</text><view>好的: 是</view>').map(offences).flat().length, 2);
});

test('utils/messages.js: full-width punctuation next to Chinese', () => {
  const texts = stringLiterals(fs.readFileSync(path.join(ROOT, 'utils/messages.js'), 'utf8'));
  assert.ok(texts.length > 100, `read ${texts.length} strings`);
  assert.deepEqual(texts.flatMap(offences), []);
});

test('every WXML template: full-width punctuation next to Chinese', () => {
  const files = fs.readdirSync(ROOT, { recursive: true }).filter((f) => f.endsWith('.wxml'));
  assert.ok(files.length >= 2);
  for (const file of files) {
    const texts = wxmlTexts(fs.readFileSync(path.join(ROOT, file), 'utf8'));
    assert.ok(texts.length > 5, file);
    assert.deepEqual(texts.flatMap(offences), [], file);
  }
});
