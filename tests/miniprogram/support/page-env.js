// Renders a mini-program Page headlessly: jsdom + miniprogram-simulate, with `Page(def)` mapped
// onto `Component(...)` and simulate's own `wx` stub replaced by the HTTP-doing double.

const path = require('node:path');
const { JSDOM } = require('jsdom');

const MINIPROGRAM = path.resolve(__dirname, '../../../miniprogram');

function installDom() {
  const dom = new JSDOM('<!DOCTYPE html><html><head></head><body></body></html>', { pretendToBeVisual: true, url: 'http://localhost/' });
  global.window = dom.window;
  global.document = dom.window.document;
  // Node has its own Event classes; the simulated DOM needs jsdom's.
  for (const name of ['Event', 'CustomEvent', 'HTMLElement', 'Node', 'MutationObserver', 'getComputedStyle', 'requestAnimationFrame', 'cancelAnimationFrame']) {
    Object.defineProperty(global, name, { value: dom.window[name], configurable: true, writable: true });
  }
  Object.defineProperty(global, 'navigator', { value: dom.window.navigator, configurable: true, writable: true });
}

installDom();
const simulate = require('miniprogram-simulate');

let app = {};

global.getApp = () => app;

global.Page = (def) => {
  const methods = {};
  const fields = {};
  // Page hooks (onShow, onPullDownRefresh, ...) become methods too, so a test can call them as
  // WeChat would: page.instance.onShow().
  for (const [name, value] of Object.entries(def)) {
    if (name === 'data') continue;
    if (typeof value === 'function') methods[name] = value;
    else fields[name] = value;
  }
  global.Component({
    data: def.data,
    methods,
    lifetimes: {
      created() {
        Object.assign(this, structuredClone(fields));
      },
      attached() {
        if (def.onLoad) def.onLoad.call(this, {});
        if (def.onShow) def.onShow.call(this);
      },
      detached() {
        if (def.onUnload) def.onUnload.call(this);
      },
    },
  });
};

/**
 * @param {string} page like 'pages/index/index'
 * @param {object} wx the `wx` the page will see
 * @param {object} [appInstance] what getApp() returns
 */
function renderPage(page, wx, appInstance = {}) {
  global.wx = wx;
  app = appInstance;
  const id = simulate.load(path.join(MINIPROGRAM, page), { rootPath: MINIPROGRAM });
  const comp = simulate.render(id);
  comp.attach(global.document.createElement('parent-wrapper'));
  return comp;
}

/**
 * Run the real app.js: `App(def)` is captured, `onLaunch` runs, and the definition is what
 * getApp() returns (the mini-program runtime calls its methods with `this` bound to it).
 * @param {object} wx the `wx` the app will see
 */
function launchApp(wx) {
  global.wx = wx;
  let def = null;
  global.App = (options) => {
    def = options;
  };
  const appPath = path.join(MINIPROGRAM, 'app.js');
  delete require.cache[require.resolve(appPath)];
  require(appPath);
  if (def.onLaunch) def.onLaunch.call(def, {});
  return def;
}

/** Built-in tags are stubs: read their attributes from the rendered tree. */
function attrsOf(comp, className) {
  const found = [];
  const walk = (node) => {
    if (!node || typeof node !== 'object') return;
    const attrs = Object.fromEntries((node.attrs || []).map((a) => [a.name, a.value]));
    if (String(attrs.class || '').split(' ').includes(className)) found.push(attrs);
    (node.children || []).forEach(walk);
  };
  walk(comp.toJSON());
  return found;
}

/** Poll until `predicate()` is truthy; fail with `label` after `timeoutMs`. */
async function waitFor(predicate, label, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

module.exports = { renderPage, launchApp, waitFor, attrsOf, simulate };
