'use strict';
/* Engagement: the time a page was visible, sent once as it goes away (sendBeacon to /e). */
const { describe, it, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const f = require('./fakes');

const T0 = 1700000000000;
const EP = 'https://t.example.com';

function start(opts, init) {
  return f.page(Object.assign({ url: 'https://www.example.com/a', title: 'A' }, opts || {}),
    ['init', Object.assign({ endpoint: EP }, init || {})]);
}

function setVisibility(win, state) {
  win.document.visibilityState = state;
  f.fire(win.document, 'visibilitychange');
}

describe('engagement', () => {
  let clock;
  beforeEach(() => { clock = f.fakeClock(T0); });
  afterEach(() => clock.restore());

  it('visible time only; one beacon to /e on pagehide, with p.engaged_ms', () => {
    const win = start({ scrollHeight: 3000, innerHeight: 1000, pageYOffset: 1000 });
    clock.tick(5000);
    setVisibility(win, 'hidden');
    clock.tick(60000); /* another tab */
    setVisibility(win, 'visible');
    clock.tick(2500);
    f.fire(win, 'pagehide', { persisted: false });
    const b = f.beacons(win);
    assert.equal(b.length, 1);
    assert.equal(b[0].url, EP + '/e');
    assert.equal(typeof b[0].raw, 'string');
    assert.deepEqual(b[0].body, {
      e: 'engagement',
      url: 'https://www.example.com/a',
      ref: 'https://search.example.org/?q=leadedge',
      t: 'A',
      ts: String(T0 + 67500),
      'p.engaged_ms': '7500',
      'p.scroll': '50',
    });
    /* only once */
    clock.tick(5000);
    f.fire(win, 'pagehide', { persisted: false });
    setVisibility(win, 'hidden');
    f.fire(win, 'pagehide', { persisted: false });
    assert.equal(win.beacons.length, 1);
    assert.equal(win.fetches.length, 0);
    assert.equal(win.images.length, 1); /* the page view only */
  });

  it('p.scroll is the deepest point reached, not where the page was left', () => {
    const win = start({ scrollHeight: 3000, innerHeight: 1000 });
    clock.tick(3000);
    win.pageYOffset = 1500;
    f.fire(win, 'scroll');
    win.pageYOffset = 200;
    f.fire(win, 'scroll');
    f.fire(win, 'pagehide', { persisted: false });
    assert.equal(f.beacons(win)[0].body['p.scroll'], '75');
  });

  it('hidden twice in a row counts once', () => {
    const win = start();
    clock.tick(2000);
    setVisibility(win, 'hidden');
    clock.tick(3000);
    setVisibility(win, 'hidden');
    f.fire(win, 'pagehide');
    assert.equal(f.beacons(win)[0].body['p.engaged_ms'], '2000');
  });

  it('a page loaded in a background tab counts from when it is shown', () => {
    const win = start({ visibilityState: 'hidden' });
    clock.tick(30000);
    setVisibility(win, 'visible');
    clock.tick(1200);
    f.fire(win, 'pagehide');
    assert.equal(f.beacons(win)[0].body['p.engaged_ms'], '1200');
  });

  it('under 1 s: nothing', () => {
    const win = start();
    clock.tick(999);
    f.fire(win, 'pagehide');
    assert.equal(win.beacons.length, 0);
    assert.equal(win.fetches.length, 0);
    assert.equal(win.images.length, 1);
  });

  it('scroll: 100 on a page that does not scroll, capped at 100', () => {
    let win = start({ scrollHeight: 800, innerHeight: 1000 });
    clock.tick(1000);
    f.fire(win, 'pagehide');
    assert.equal(f.beacons(win)[0].body['p.scroll'], '100');
    win = start({ scrollHeight: 2000, innerHeight: 1000, pageYOffset: 5000 });
    clock.tick(1000);
    f.fire(win, 'pagehide');
    assert.equal(f.beacons(win)[0].body['p.scroll'], '100');
  });

  it('carries consent, vid and the privacy signals as the page view does', () => {
    const win = start({ dnt: '1' }, { site: 'www' });
    win.leadedge('consent', true);
    const vid = win.localStorage.getItem('le_vid');
    clock.tick(4000);
    f.fire(win, 'pagehide');
    const b = f.beacons(win);
    assert.equal(b.length, 1);
    assert.equal(b[0].body['p.site'], 'www');
    assert.equal(b[0].body.consent, '1');
    assert.equal(b[0].body.vid, vid);
    assert.equal(b[0].body.dnt, '1');
  });

  it('sendBeacon refusing (false): fetch with keepalive instead', () => {
    const win = start();
    win.beaconResult = false;
    clock.tick(3000);
    f.fire(win, 'pagehide');
    assert.equal(win.beacons.length, 1);
    assert.equal(win.fetches.length, 1);
    const { url, init } = win.fetches[0];
    assert.equal(url, EP + '/e');
    assert.equal(init.method, 'POST');
    assert.equal(init.keepalive, true);
    assert.equal(JSON.parse(init.body)['p.engaged_ms'], '3000');
    assert.equal(JSON.parse(init.body).e, 'engagement');
  });

  it('sendBeacon throwing: fetch', () => {
    const win = start();
    win.navigator.sendBeacon = () => { throw new TypeError('Illegal invocation'); };
    clock.tick(3000);
    f.fire(win, 'pagehide');
    assert.equal(win.fetches.length, 1);
  });

  it('neither sendBeacon nor fetch: a pixel', () => {
    const win = start({ beacon: false, fetch: false });
    clock.tick(2000);
    f.fire(win, 'pagehide');
    const px = f.pixels(win);
    assert.equal(px.length, 2);
    assert.equal(px[1].base, EP + '/p.gif');
    assert.equal(px[1].get('e'), 'engagement');
    assert.equal(px[1].get('p.engaged_ms'), '2000');
  });

  it('an SPA navigation sends the engagement of the page left, with its URL', async () => {
    const win = start();
    clock.tick(4000);
    win.history.pushState({}, '', '/b');
    await f.tick();
    const b = f.beacons(win);
    assert.equal(b.length, 1);
    assert.equal(b[0].body['p.engaged_ms'], '4000');
    assert.equal(b[0].body.url, 'https://www.example.com/a');
    assert.equal(f.views(win).length, 2);
    /* the new page's own time starts at its view */
    clock.tick(1500);
    f.fire(win, 'pagehide');
    const b2 = f.beacons(win);
    assert.equal(b2.length, 2);
    assert.equal(b2[1].body['p.engaged_ms'], '1500');
    assert.equal(b2[1].body.url, 'https://www.example.com/b');
  });

  it('back from the back/forward cache: a new view, timed anew', () => {
    const win = start();
    clock.tick(2000);
    f.fire(win, 'pagehide', { persisted: true });
    clock.tick(100000);
    f.fire(win, 'pageshow', { persisted: true });
    clock.tick(1100);
    f.fire(win, 'pagehide', { persisted: true });
    const b = f.beacons(win);
    assert.deepEqual(b.map((x) => x.body['p.engaged_ms']), ['2000', '1100']);
    assert.equal(f.views(win).length, 2);
  });
});
