// `make screenshots`: the upload page and 我的文件 in their main states, rendered from the real page
// code (WXML, WXSS, page JS and utils, driven through the same fake signer, fake OSS and `wx`
// double as the page tests) in headless Chromium at 375 px, into docs/images/*.png. WeChat's own
// components (buttons, progress bars, navigation and tab bar) are drawn approximately.
//
// Usage: node tools/screenshots/render.js [chromium binary] (tools/screenshots/shrink.py then
// keeps each PNG under 150 KB).

const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { pageDocument, WIDTH } = require('./page-html');
const support = path.resolve(__dirname, '../../tests/miniprogram/support');
const { renderPage, waitFor } = require(path.join(support, 'page-env'));
const { pageWx, messageFile } = require(path.join(support, 'page-wx'));
const { createWxNetwork, createWxFiles } = require(path.join(support, 'wx-double'));
const { startFakeServers, ossErrorXml } = require(path.join(support, 'fake-servers'));
const { makeTempDir, pickedFile, pickedPng } = require(path.join(support, 'files'));
const config = require('../../miniprogram/config');
const { createMultipartUploader } = require('../../miniprogram/utils/multipart');

const OUT = path.resolve(__dirname, '../../docs/images');
const HEIGHT = 667;
const PART = 256 * 1024;
const MiB = 1024 * 1024;
// The sample photos: a plain sky blue (the fake OSS serves them as they are, unresized).
const SKY = [0x8e, 0xc5, 0xe8];
const UPLOAD = 'pages/index/index';
const FILES = 'pages/files/index';

/** The page's wx in 正式版, with readFile over real files (large files). */
function phoneWx(picks, network, more) {
  const wx = pageWx(picks, network, { envVersion: 'release', ...more });
  const files = createWxFiles();
  return Object.assign(wx, { getFileSystemManager: files.getFileSystemManager, getAppBaseInfo: files.getAppBaseInfo });
}

/** A picked file with a readable name (the temporary path is what WeChat hands over). */
function named(file, name, type) {
  return { ...messageFile(file, type), name };
}

const tap = (page, selector) => page.querySelector(selector).dispatchEvent('tap');

/** Each scene leaves a page in one state; `route` says which page it is. */
const SCENES = {
  async 'upload-empty'() {
    return { route: UPLOAD, page: renderPage(UPLOAD, phoneWx([]), {}) };
  },

  async 'upload-uploading'({ tmp }) {
    const photo = pickedPng(tmp.dir, 'a.png', 64, 64, SKY);
    const doc = pickedFile(tmp.dir, 'b.pdf', 1536 * 1024);
    const wx = phoneWx([[named(doc, '2026 年度预算（终稿）.pdf', 'file'), named(photo, '照片_20261206_101532.png', 'image')]], { chunkDelayMs: 25 });
    const page = renderPage(UPLOAD, wx, {});
    tap(page, '#choose-file');
    const item = (name) => page.data.items.find((i) => i.name.startsWith(name)) || { state: '', progress: 0 };
    await waitFor(() => item('2026').progress >= 40 && item('照片').state === 'success', 'mid-way', 20000);
    return { route: UPLOAD, page };
  },

  async 'upload-paused'({ fake, tmp }) {
    fake.multipart.putDelayMs = 60;
    const video = pickedFile(tmp.dir, 'v.mp4', 24 * PART);
    const wx = phoneWx([[named(video, '视频_20261206_101532.mp4', 'video')]]);
    const page = renderPage(UPLOAD, wx, {});
    tap(page, '#choose-file');
    await waitFor(() => page.data.items[0] && page.data.items[0].progress >= 30, 'parts in OSS', 20000);
    tap(page, '.pause');
    await waitFor(() => page.data.items[0].state === 'paused', 'paused');
    return { route: UPLOAD, page };
  },

  async 'upload-failed'({ fake, tmp }) {
    const file = pickedFile(tmp.dir, 'c.docx', 80 * 1024);
    fake.oss = () => ({ status: 403, body: ossErrorXml('AccessDenied', 'Invalid according to Policy: Policy Condition failed.', '6553A1C2D3E4F5A6B7C8D9E0') });
    const page = renderPage(UPLOAD, phoneWx([[named(file, '合同扫描件.docx', 'file')]]), {});
    tap(page, '#choose-file');
    await waitFor(() => page.data.items[0] && page.data.items[0].state === 'failed', 'failed');
    return { route: UPLOAD, page };
  },

  async 'upload-done'({ tmp }) {
    const photo = pickedPng(tmp.dir, 'p.png', 96, 96, SKY);
    const sheet = pickedFile(tmp.dir, 's.xlsx', 46 * 1024);
    const wx = phoneWx([[named(photo, '照片_20261206_101532.png', 'image'), named(sheet, '报销单.xlsx', 'file')]]);
    const page = renderPage(UPLOAD, wx, {});
    tap(page, '#choose-file');
    await waitFor(() => page.data.items.length === 2 && page.data.items.every((i) => i.state === 'success'), 'saved');
    return { route: UPLOAD, page };
  },

  async 'upload-resumable'({ fake, tmp }) {
    const video = pickedFile(tmp.dir, 'r.mp4', 26 * PART);
    const wx = phoneWx([[named(video, '视频_20261205_213040.mp4', 'video')]]);
    // An earlier run of the app lost the network after ten parts.
    const dying = createWxNetwork({ dropAfterPuts: 10 });
    const earlier = createMultipartUploader({ wx: { ...wx, request: dying.request }, baseUrl: fake.base, retries: 0, storage: wx });
    await earlier.enqueue({ path: video.path, name: '视频_20261205_213040.mp4', size: video.size }).promise.catch(() => {});
    const page = renderPage(UPLOAD, wx, {});
    tap(page, '#choose-file');
    await waitFor(() => page.data.items[0] && page.data.items[0].heldText, '继续上传 offered');
    return { route: UPLOAD, page };
  },

  async 'files-list'({ fake, tmp }) {
    const png = (w, h) => fs.readFileSync(pickedPng(tmp.dir, 'x.png', w, h, SKY).path);
    fake.addFile({ name: '2026 年度预算（终稿）.pdf', contentType: 'application/pdf', bytes: Buffer.alloc(3 * MiB + 123456), createdAt: '2026-12-01T02:30:00Z' });
    fake.addFile({ name: '报销单.xlsx', contentType: 'application/vnd.ms-excel', bytes: Buffer.alloc(46 * 1024), createdAt: '2026-12-03T09:12:00Z' });
    fake.addFile({ name: '视频_20261205_213040.mp4', contentType: 'video/mp4', bytes: Buffer.alloc(6 * MiB + 512 * 1024), createdAt: '2026-12-05T13:30:40Z' });
    fake.addFile({ name: '照片_20261206_101532.png', contentType: 'image/png', bytes: png(96, 96), createdAt: '2026-12-06T02:15:32Z' });
    fake.usage = () => ({ status: 200, json: { usedBytes: 120 * MiB, fileCount: 4, reservedBytes: 0, quotaBytes: 1024 * MiB, quotaFiles: 0 } });
    const page = renderPage(FILES, phoneWx([], { downloadDir: tmp.dir }), {});
    await waitFor(() => page.data.loaded && page.data.usageText, 'listed');
    return { route: FILES, page };
  },

  async 'files-empty'() {
    const page = renderPage(FILES, phoneWx([]), {});
    await waitFor(() => page.data.loaded, 'loaded');
    return { route: FILES, page };
  },
};

/**
 * Run Chromium without blocking: the fake servers in this process answer its image requests.
 * @returns {Promise<{status: number | null, stderr: string}>}
 */
function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill(), 60000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

function findChromium(given) {
  const candidates = [given, process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter(Boolean);
  for (const name of candidates) {
    const found = spawnSync('sh', ['-c', `command -v "${name}"`], { encoding: 'utf8' });
    if (found.status === 0) return found.stdout.trim();
  }
  return null;
}

async function main() {
  const chromium = findChromium(process.argv[2]);
  if (!chromium) {
    console.error('找不到 Chromium: 请先安装 (Debian/Ubuntu: apt-get install chromium fonts-noto-cjk)');
    process.exit(2);
  }
  fs.mkdirSync(OUT, { recursive: true });
  const work = makeTempDir('mp-screens-');
  const saved = { threshold: config.multipartThreshold, base: config.signerBaseUrl };
  try {
    for (const [name, scene] of Object.entries(SCENES)) {
      const fake = await startFakeServers();
      fake.multipart.partSize = PART;
      const tmp = makeTempDir('mp-scene-');
      config.signerBaseUrl = fake.base;
      config.multipartThreshold = 2 * MiB;
      try {
        const { route, page } = await scene({ fake, tmp });
        const html = path.join(work.dir, name + '.html');
        fs.writeFileSync(html, pageDocument(page, route));
        const out = path.join(OUT, name + '.png');
        fs.rmSync(out, { force: true });
        const shot = await run(chromium, [
          '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--force-device-scale-factor=2',
          `--window-size=${WIDTH},${HEIGHT}`, '--virtual-time-budget=2000', `--screenshot=${out}`, 'file://' + html,
        ]);
        if (shot.status !== 0 || !fs.existsSync(out)) throw new Error(`Chromium failed for ${name}: ${shot.stderr}`);
        page.detach();
        console.log(`${name}.png`);
      } finally {
        await fake.close();
        tmp.remove();
      }
    }
  } finally {
    config.multipartThreshold = saved.threshold;
    config.signerBaseUrl = saved.base;
    work.remove();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
