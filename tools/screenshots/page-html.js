// A rendered page (miniprogram-simulate's tree of the real WXML, data and WXSS) as a plain HTML
// document for a browser: WeChat's components drawn approximately after WeUI (button, progress,
// image), rpx converted at a 375 px wide screen, and the navigation bar and tab bar around it.

const fs = require('node:fs');
const path = require('node:path');

const MINIPROGRAM = path.resolve(__dirname, '../../miniprogram');
const WIDTH = 375;

// WeChat's own components, approximately (style v2): what the page's WXSS builds on.
const COMPONENTS = `
* { box-sizing: border-box; }
html, body { margin: 0; width: ${WIDTH}px; font-family: "PingFang SC", "Noto Sans CJK SC", "Noto Sans SC", sans-serif; -webkit-font-smoothing: antialiased; }
.wx-view { display: block; }
.wx-text { display: inline; white-space: pre-wrap; }
.wx-image { display: inline-block; width: 320px; height: 240px; overflow: hidden; }
.wx-image img { width: 100%; height: 100%; object-fit: cover; display: block; }
.wx-image[data-mode="aspectFit"] img { object-fit: contain; }
.wx-button { position: relative; display: block; width: 184px; margin: 0 auto; padding: 12px 24px; border-radius: 8px;
  font-size: 17px; font-weight: 700; line-height: 1.41; text-align: center; background-color: #f2f2f2; color: #06ae56; }
.wx-button[data-type="primary"] { background-color: #07c160; color: #ffffff; }
.wx-button[data-disabled="true"] { background-color: #f2f2f2; color: rgba(0, 0, 0, 0.2); }
.wx-button[data-type="primary"][data-disabled="true"] { background-color: #9ed99d; color: rgba(255, 255, 255, 0.6); }
.wx-progress { display: flex; align-items: center; }
.wx-progress .track { flex: 1; border-radius: 2px; overflow: hidden; }
.wx-progress .fill { height: 100%; }
.frame { position: relative; width: ${WIDTH}px; height: 100vh; display: flex; flex-direction: column; }
.navbar { height: 64px; padding-top: 20px; background: #ffffff; color: #000000; font-size: 17px; font-weight: 600;
  display: flex; align-items: center; justify-content: center; border-bottom: 0.5px solid #e5e5e5; }
.content { flex: 1; overflow: hidden; }
.tabbar { height: 50px; display: flex; background: #ffffff; border-top: 0.5px solid rgba(0, 0, 0, 0.33); }
.tab { flex: 1; display: flex; flex-direction: column; align-items: center; justify-content: center; font-size: 10px; }
.tab img { width: 27px; height: 27px; }
.sheet-mask { position: fixed; inset: 0; background: rgba(0, 0, 0, 0.45); }
`;

const escapeHtml = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** WXSS to CSS at 375 px: rpx halves, `page` is the page's root. */
function wxssToCss(wxss) {
  return wxss
    .replace(/(-?\d*\.?\d+)rpx/g, (_, n) => `${Number(n) * (WIDTH / 750)}px`)
    .replace(/(^|[\s,}])page(\s*[{,])/g, '$1.wx-page$2');
}

/** A local path or URL as the browser can load it. */
function sourceUrl(src) {
  if (!src) return '';
  if (/^https?:\/\//.test(src)) return src;
  if (src.startsWith('/')) {
    const inPackage = path.join(MINIPROGRAM, src);
    return 'file://' + (fs.existsSync(inPackage) ? inPackage : src);
  }
  return 'file://' + src;
}

/** One node of simulate's toJSON() tree as HTML. */
function nodeHtml(node) {
  if (typeof node === 'string') return escapeHtml(node);
  const attrs = Object.fromEntries((node.attrs || []).map((a) => [a.name, a.value]));
  const tag = String(node.tagName || '').replace(/^wx-/, '');
  const classes = ['wx-' + tag, attrs.class || ''].join(' ').trim();
  const id = attrs.id ? ` id="${escapeHtml(attrs.id)}"` : '';
  const inner = (node.children || []).map(nodeHtml).join('');
  const style = attrs.style ? ` style="${escapeHtml(attrs.style)}"` : '';
  if (tag === 'main' || tag === 'block') return inner;
  if (tag === 'image') {
    return `<span class="${escapeHtml(classes)}"${id} data-mode="${escapeHtml(attrs.mode || '')}"><img src="${escapeHtml(sourceUrl(attrs.src))}"></span>`;
  }
  if (tag === 'progress') {
    const stroke = Number(attrs.strokeWidth || attrs['stroke-width'] || 6);
    const percent = Math.max(0, Math.min(100, Number(attrs.percent) || 0));
    return `<div class="${escapeHtml(classes)}"${id}><div class="track" style="height:${stroke}px;background:${escapeHtml(attrs.backgroundColor || '#ebebeb')}">` +
      `<div class="fill" style="width:${percent}%;background:${escapeHtml(attrs.activeColor || '#09bb07')}"></div></div></div>`;
  }
  if (tag === 'button') {
    return `<div class="${escapeHtml(classes)}"${id} data-type="${escapeHtml(attrs.type || 'default')}" data-disabled="${attrs.disabled === true}">${inner}</div>`;
  }
  const element = tag === 'text' ? 'span' : 'div';
  return `<${element} class="${escapeHtml(classes)}"${id}${style}>${inner}</${element}>`;
}

/**
 * @param {object} page the rendered page (simulate component)
 * @param {string} route like 'pages/index/index'
 * @param {{overlay?: string}} [extra] more HTML on top (an ActionSheet drawn by the scene)
 */
function pageDocument(page, route, extra = {}) {
  const app = JSON.parse(fs.readFileSync(path.join(MINIPROGRAM, 'app.json'), 'utf8'));
  const own = JSON.parse(fs.readFileSync(path.join(MINIPROGRAM, route + '.json'), 'utf8'));
  const title = own.navigationBarTitleText || app.window.navigationBarTitleText;
  const css = [path.join(MINIPROGRAM, 'app.wxss'), path.join(MINIPROGRAM, route + '.wxss')].map((f) => wxssToCss(fs.readFileSync(f, 'utf8'))).join('\n');
  const tabs = app.tabBar.list.map((tab) => {
    const selected = tab.pagePath === route;
    const icon = path.join(MINIPROGRAM, selected ? tab.selectedIconPath : tab.iconPath);
    return `<div class="tab" style="color:${selected ? app.tabBar.selectedColor : app.tabBar.color}"><img src="file://${icon}">${escapeHtml(tab.text)}</div>`;
  }).join('');
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><style>${COMPONENTS}\n${css}</style></head><body>` +
    `<div class="frame wx-page"><div class="navbar">${escapeHtml(title)}</div><div class="content">${nodeHtml(page.toJSON())}</div>` +
    `<div class="tabbar">${tabs}</div></div>${extra.overlay || ''}</body></html>`;
}

module.exports = { pageDocument, WIDTH };
