'use strict';
/* The loader queue (boot, api.replay): commands made before tracker.js arrived. */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const f = require('./fakes');

const VID = /^[0-9a-f]{32}$/;

describe('loader queue', () => {
  it('exports its parts under Node instead of running', () => {
    assert.deepEqual(Object.keys(f.tracker).sort(),
      ['boot', 'clean', 'create', 'fields', 'formId', 'linkKind', 'name', 'query', 'utf8len', 'utm']);
  });

  it('applies consent, track before init, and init in order; the page view comes once, last', () => {
    const win = f.page({},
      ['consent', true],
      ['track', 'early', { a: 1 }],
      ['init', { endpoint: 'https://collect.example.net', site: 'www' }]);
    const px = f.pixels(win);
    assert.equal(px.length, 2);
    /* track waited for init: it went to init's endpoint, not to where t.js came from */
    assert.equal(px[0].base, 'https://collect.example.net/p.gif');
    assert.equal(px[0].get('e'), 'early');
    assert.equal(px[0].get('p.a'), '1');
    assert.equal(px[0].get('p.site'), 'www');
    assert.equal(px[0].get('consent'), '1');
    /* the automatic page view: after the queue, with the consent given in it */
    assert.equal(px[1].base, 'https://collect.example.net/p.gif');
    assert.equal(px[1].get('e'), 'pv');
    assert.equal(px[1].get('consent'), '1');
    assert.match(px[1].get('vid'), VID);
    assert.equal(px[1].get('vid'), px[0].get('vid'));
    assert.equal(win.localStorage.getItem('le_vid'), px[1].get('vid'));
    assert.equal(f.views(win).length, 1);
  });

  it('a consent call queued after init still reaches the first page view (one view)', () => {
    const win = f.page({}, ['init', { site: 's' }], ['consent', true]);
    const v = f.views(win);
    assert.equal(v.length, 1);
    assert.equal(v[0].get('consent'), '1');
    assert.match(v[0].get('vid'), VID);
  });

  it('without consent in the queue the first view has no identity', () => {
    const win = f.page({}, ['init', {}]);
    const v = f.views(win);
    assert.equal(v.length, 1);
    assert.equal(v[0].has('consent'), false);
    assert.equal(v[0].has('vid'), false);
  });

  it('a track queued after init goes out before the page view, once', () => {
    const win = f.page({}, ['init', {}], ['track', 'x'], ['page']);
    assert.deepEqual(f.pixels(win).map((p) => p.get('e')), ['x', 'pv', 'pv']);
  });

  it('without any init in the queue it starts with the defaults (endpoint from the script)', () => {
    const win = f.page({ scriptSrc: 'https://t.example.com/t.js?v=3' }, ['track', 'hello']);
    const px = f.pixels(win);
    assert.deepEqual(px.map((p) => p.get('e')), ['hello', 'pv']);
    for (const p of px) assert.equal(p.base, 'https://t.example.com/p.gif');
    assert.equal(px[1].has('p.site'), false);
  });

  it('endpoint from a script under a path, and init endpoint without its trailing slashes', () => {
    let win = f.page({ scriptSrc: 'https://www.example.com/le/t.js#x' });
    assert.equal(f.pixels(win)[0].base, 'https://www.example.com/le/p.gif');
    win = f.page({}, ['init', { endpoint: 'https://c.example.net/track//' }]);
    assert.equal(f.pixels(win)[0].base, 'https://c.example.net/track/p.gif');
  });

  it('with no queue at all (tracker.js without the stub) it starts on its own', () => {
    const win = f.makeWindow();
    f.tracker.boot(win);
    assert.equal(typeof win.leadedge, 'function');
    assert.equal(win.leadedge.loaded, true);
    assert.equal(f.views(win).length, 1);
  });

  it('auto:false sends no page view until asked', () => {
    const win = f.page({}, ['init', { auto: false }]);
    assert.equal(win.images.length, 0);
    win.leadedge('page');
    assert.equal(f.views(win).length, 1);
  });

  it('replaces window.leadedge with the api; calls after load run at once', () => {
    const win = f.page({}, ['init', {}]);
    assert.equal(win.leadedge.loaded, true);
    assert.equal(win.leadedge.q, undefined);
    win.leadedge('track', 'later', { k: 'v' });
    const px = f.pixels(win);
    assert.equal(px.length, 2);
    assert.equal(px[1].get('e'), 'later');
    assert.equal(px[1].get('p.k'), 'v');
  });

  it('booting twice (the snippet on the page twice) does not install twice', () => {
    const win = f.page({}, ['init', { site: 'one' }]);
    const api = win.leadedge;
    const handlers = JSON.stringify(Object.keys(win.document.on).map((k) => [k, win.document.on[k].length]));
    const pushState = win.history.pushState;
    f.tracker.boot(win);
    /* the second snippet's own init, against the running tracker */
    f.loader(win, ['init', { site: 'two' }]);
    assert.equal(win.leadedge, api);
    assert.equal(win.history.pushState, pushState);
    assert.equal(JSON.stringify(Object.keys(win.document.on).map((k) => [k, win.document.on[k].length])), handlers);
    assert.equal(win.on.popstate.length, 1);
    assert.equal(win.on.pagehide.length, 1);
    const v = f.views(win);
    assert.equal(v.length, 1);
    win.leadedge('track', 't');
    assert.equal(f.pixels(win)[1].get('p.site'), 'one');
  });

  it('a broken command never throws into the page', () => {
    const win = f.page({}, ['init', {}]);
    win.Image = function () { throw new Error('no images here'); };
    assert.doesNotThrow(() => win.leadedge('track', 'x'));
    assert.doesNotThrow(() => win.leadedge('nonsense', 1, 2));
  });
});
