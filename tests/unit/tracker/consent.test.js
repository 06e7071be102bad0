'use strict';
/* Consent and the privacy signals: what is stored, what identity the events carry. */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const f = require('./fakes');

const VID = /^[0-9a-f]{32}$/;

function noIdentity(p) {
  assert.equal(p.has('consent'), false, p.src);
  assert.equal(p.has('vid'), false, p.src);
}

describe('consent required (the default)', () => {
  it('before consent: no vid or consent params, localStorage stays empty', () => {
    const win = f.page({}, ['init', {}]);
    win.leadedge('track', 'x');
    win.leadedge('page');
    for (const p of f.pixels(win)) noIdentity(p);
    assert.equal(win.localStorage.map.size, 0);
  });

  it('consent(true): stored, and the page is viewed again with consent and the same ref', () => {
    const win = f.page({ url: 'https://www.example.com/landing', referrer: 'https://ads.example.net/c?id=7' },
      ['init', {}]);
    win.setUrl('https://www.example.com/landing#section'); /* a hash change, no view */
    win.setUrl('https://www.example.com/landing');
    win.leadedge('consent', true);
    assert.equal(win.localStorage.getItem('le_consent'), '1');
    const vid = win.localStorage.getItem('le_vid');
    assert.match(vid, VID);
    assert.equal(win.localStorage.map.size, 2);
    const v = f.views(win);
    assert.equal(v.length, 2);
    noIdentity(v[0]);
    assert.equal(v[1].get('consent'), '1');
    assert.equal(v[1].get('vid'), vid);
    assert.equal(v[1].get('url'), 'https://www.example.com/landing');
    assert.equal(v[1].get('ref'), 'https://ads.example.net/c?id=7');
    assert.equal(v[1].get('ref'), v[0].get('ref'));
    /* and the events after it carry the same identity */
    win.leadedge('track', 'after');
    const t = f.pixels(win)[2];
    assert.equal(t.get('consent'), '1');
    assert.equal(t.get('vid'), vid);
    /* consent again changes nothing and sends no third view */
    win.leadedge('consent', true);
    assert.equal(f.views(win).length, 2);
    assert.equal(win.localStorage.getItem('le_vid'), vid);
  });

  it('the consent re-view keeps the referrer after an SPA navigation too', async () => {
    const win = f.page({ url: 'https://www.example.com/a' }, ['init', {}]);
    win.history.pushState({}, '', '/b');
    await f.tick();
    win.leadedge('consent', true);
    const v = f.views(win);
    assert.equal(v.length, 3);
    assert.equal(v[2].get('url'), 'https://www.example.com/b');
    assert.equal(v[2].get('ref'), 'https://www.example.com/a');
  });

  it('a tracker on a later page picks consent and the vid up from storage', () => {
    const ls = f.storage();
    const first = f.page({ storage: ls }, ['init', {}], ['consent', true]);
    const vid = f.views(first)[0].get('vid');
    assert.match(vid, VID);
    const later = f.page({ storage: ls, url: 'https://www.example.com/next',
      referrer: 'https://www.example.com/start?x=1' }, ['init', {}]);
    const v = f.views(later);
    assert.equal(v.length, 1);
    assert.equal(v[0].get('consent'), '1');
    assert.equal(v[0].get('vid'), vid);
  });

  it('a stored vid that is not 32 hex digits is replaced', () => {
    const ls = f.storage();
    ls.setItem('le_consent', '1');
    ls.setItem('le_vid', 'not-a-vid"<script>');
    const win = f.page({ storage: ls }, ['init', {}]);
    const vid = f.views(win)[0].get('vid');
    assert.match(vid, VID);
    assert.equal(ls.getItem('le_vid'), vid);
  });

  it('consent(false) removes both keys and later events carry no vid', () => {
    const ls = f.storage();
    const win = f.page({ storage: ls }, ['init', {}], ['consent', true]);
    assert.equal(ls.map.size, 2);
    ls.setItem('other', 'kept');
    win.leadedge('consent', false);
    assert.equal(ls.getItem('le_consent'), null);
    assert.equal(ls.getItem('le_vid'), null);
    assert.equal(ls.getItem('other'), 'kept');
    win.leadedge('track', 'after');
    win.leadedge('page');
    const px = f.pixels(win);
    assert.equal(px.length, 3); /* no extra view for the withdrawal */
    noIdentity(px[1]);
    noIdentity(px[2]);
    /* and a later page does not pick anything up */
    const later = f.page({ storage: ls }, ['init', {}]);
    noIdentity(f.views(later)[0]);
  });

  it('a new consent after withdrawal makes a new vid', () => {
    const ls = f.storage();
    const win = f.page({ storage: ls }, ['init', {}], ['consent', true]);
    const vid1 = ls.getItem('le_vid');
    win.leadedge('consent', false);
    win.leadedge('consent', true);
    const vid2 = ls.getItem('le_vid');
    assert.match(vid2, VID);
    assert.notEqual(vid2, vid1);
  });
});

describe('consent not required', () => {
  it('a vid from the start, stored', () => {
    const win = f.page({}, ['init', { consent: 'not_required' }]);
    const v = f.views(win);
    assert.equal(v.length, 1);
    assert.equal(v[0].get('consent'), '1');
    assert.match(v[0].get('vid'), VID);
    assert.equal(win.localStorage.getItem('le_vid'), v[0].get('vid'));
  });

  it('an explicit consent(false) before init wins', () => {
    const win = f.page({}, ['consent', false], ['init', { consent: 'not_required' }]);
    noIdentity(f.views(win)[0]);
    assert.equal(win.localStorage.map.size, 0);
  });

  it('an explicit consent(false) after init withdraws it', () => {
    const win = f.page({}, ['init', { consent: 'not_required' }], ['consent', false]);
    noIdentity(f.views(win)[0]);
    assert.equal(win.localStorage.map.size, 0);
  });
});

describe('privacy signals', () => {
  it('GPC: gpc=1 on every event; consent(true) ignored, nothing stored', () => {
    const win = f.page({ gpc: true }, ['consent', true], ['init', { consent: 'not_required' }]);
    win.leadedge('consent', true);
    win.leadedge('track', 't');
    win.leadedge('page');
    const px = f.pixels(win);
    assert.deepEqual(px.map((p) => p.get('e')), ['pv', 't', 'pv']);
    for (const p of px) {
      assert.equal(p.get('gpc'), '1');
      assert.equal(p.has('dnt'), false);
      noIdentity(p);
    }
    assert.equal(win.localStorage.map.size, 0);
  });

  it('GPC: consent stored before is not used, and is removed', () => {
    const ls = f.storage();
    ls.setItem('le_consent', '1');
    ls.setItem('le_vid', 'a'.repeat(32));
    const win = f.page({ gpc: true, storage: ls }, ['init', {}]);
    noIdentity(f.views(win)[0]);
    assert.equal(ls.map.size, 0);
  });

  it('globalPrivacyControl other than true is no signal', () => {
    const win = f.page({ gpc: 'true' }, ['init', {}]);
    assert.equal(f.views(win)[0].has('gpc'), false);
  });

  it('Do Not Track "1" -> dnt=1 (navigator or window); "0" none', () => {
    let win = f.page({ dnt: '1' }, ['init', {}], ['consent', true]);
    let p = f.views(win)[0];
    assert.equal(p.get('dnt'), '1');
    assert.equal(p.has('gpc'), false);
    assert.equal(p.get('consent'), '1'); /* the server decides what DNT means */
    assert.deepEqual(p.keys().slice(-3), ['consent', 'vid', 'dnt']);
    win = f.page({ winDnt: '1' }, ['init', {}]);
    assert.equal(f.views(win)[0].get('dnt'), '1');
    win = f.page({ dnt: '0' }, ['init', {}]);
    assert.equal(f.views(win)[0].has('dnt'), false);
  });

  it('GPC and DNT together', () => {
    const win = f.page({ gpc: true, dnt: '1' }, ['init', {}]);
    assert.deepEqual(f.views(win)[0].keys(), ['e', 'url', 'ref', 't', 'ts', 'gpc', 'dnt']);
  });
});

describe('a localStorage that throws', () => {
  it('breaks nothing: consent lasts for the page, with a vid', () => {
    const win = f.page({ storage: f.throwingStorage() }, ['init', {}]);
    noIdentity(f.views(win)[0]);
    assert.doesNotThrow(() => win.leadedge('consent', true));
    const v = f.views(win);
    assert.equal(v.length, 2);
    assert.equal(v[1].get('consent'), '1');
    assert.match(v[1].get('vid'), VID);
    win.leadedge('track', 'x');
    assert.equal(f.pixels(win)[2].get('vid'), v[1].get('vid'));
    win.leadedge('consent', false);
    win.leadedge('track', 'y');
    noIdentity(f.pixels(win)[3]);
  });

  it('with consent not required', () => {
    const win = f.page({ storage: f.throwingStorage() }, ['init', { consent: 'not_required' }]);
    const v = f.views(win);
    assert.equal(v.length, 1);
    assert.match(v[0].get('vid'), VID);
  });

  it('window.localStorage itself throwing (storage blocked)', () => {
    const win = f.makeWindow();
    Object.defineProperty(win, 'localStorage', { get() { throw new Error('SecurityError'); } });
    f.loader(win, ['init', {}], ['consent', true]);
    assert.doesNotThrow(() => f.tracker.boot(win));
    const v = f.views(win);
    assert.equal(v.length, 1);
    assert.equal(v[0].get('consent'), '1');
    assert.match(v[0].get('vid'), VID);
  });

  it('no localStorage at all', () => {
    const win = f.makeWindow();
    delete win.localStorage;
    f.loader(win, ['init', {}], ['consent', true]);
    f.tracker.boot(win);
    const v = f.views(win);
    assert.equal(v.length, 1);
    assert.match(v[0].get('vid'), VID);
  });
});
