'use strict';
/* tracker.js minified as the build does it (pixel/CMakeLists.txt: terser --compress passes=2
 * --mangle --comments false) and gzipped stays within 4 KiB, and still works. */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const f = require('./fakes');

const BUDGET = 4096;
const TERSER = path.join(__dirname, '../../../node_modules/terser');

let terser = null;
try {
  terser = require(TERSER);
} catch (e) {
  /* make deps installs it */
}
const skip = terser ? false : 'terser is not installed (' + TERSER + '): run make deps';

describe('size', () => {
  let min, dir;

  before(async () => {
    if (!terser) return;
    const src = fs.readFileSync(f.TRACKER, 'utf8');
    const out = await terser.minify(src, { compress: { passes: 2 }, mangle: true, format: { comments: false } });
    min = out.code;
    const gz = zlib.gzipSync(min, { level: 9 }).length;
    console.log('tracker.js: %d bytes source, %d minified, %d gzipped (budget %d)',
      Buffer.byteLength(src), Buffer.byteLength(min), gz, BUDGET);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leadedge-tracker-'));
  });

  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  it('minified and gzipped: at most 4 KiB', { skip }, () => {
    const gz = zlib.gzipSync(min, { level: 9 }).length;
    assert.ok(gz <= BUDGET, 'tracker.js is ' + gz + ' bytes gzipped, over the ' + BUDGET + '-byte budget');
    assert.ok(!/\/\*/.test(min), 'no comments left');
  });

  it('the minified code exports the same parts and still tracks', { skip }, () => {
    const file = path.join(dir, 'tracker.min.js');
    fs.writeFileSync(file, min);
    const m = require(file);
    assert.deepEqual(Object.keys(m), Object.keys(f.tracker));
    for (const k of Object.keys(m)) assert.equal(typeof m[k], typeof f.tracker[k], k);
    assert.equal(m.clean('a\udc00\udc00'), 'a\ufffd\ufffd');
    /* a page view with consent from the queue, through the minified boot */
    const win = f.makeWindow({ title: 'Min' });
    f.loader(win, ['consent', true], ['init', { endpoint: 'https://t.example.com', site: 'www' }]);
    m.boot(win);
    const v = f.views(win);
    assert.equal(v.length, 1);
    assert.deepEqual(v[0].keys(), ['e', 'url', 'ref', 't', 'ts', 'p.site', 'consent', 'vid']);
    assert.equal(v[0].get('t'), 'Min');
    assert.match(v[0].get('vid'), /^[0-9a-f]{32}$/);
  });
});
