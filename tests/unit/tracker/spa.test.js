'use strict';
/* Single-page apps: history.pushState and popstate; back/forward cache (pageshow). */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const f = require('./fakes');

const start = (opts, init) => f.page(Object.assign({ url: 'https://www.example.com/a',
  referrer: 'https://search.example.org/' }, opts || {}), ['init', init || {}]);

describe('SPA page views', () => {
  it('pushState to a new URL: one view, ref = the previous URL, after a tick (the new title)', async () => {
    const win = start();
    const ret = win.history.pushState({ n: 1 }, '', '/b?x=1');
    assert.equal(ret, undefined);
    assert.equal(win.history.state.n, 1);
    assert.equal(win.location.href, 'https://www.example.com/b?x=1');
    win.document.title = 'Page B';
    assert.equal(f.views(win).length, 1); /* not yet: the app sets the title first */
    await f.tick();
    const v = f.views(win);
    assert.equal(v.length, 2);
    assert.equal(v[1].get('url'), 'https://www.example.com/b?x=1');
    assert.equal(v[1].get('ref'), 'https://www.example.com/a');
    assert.equal(v[1].get('t'), 'Page B');
    /* and the next one refers to /b */
    win.history.pushState(null, '', 'https://www.example.com/c');
    await f.tick();
    const c = f.views(win)[2];
    assert.equal(c.get('url'), 'https://www.example.com/c');
    assert.equal(c.get('ref'), 'https://www.example.com/b?x=1');
    assert.equal(f.views(win).length, 3);
  });

  it('pushState to the same URL: no view', async () => {
    const win = start();
    win.history.pushState({}, '', '/a');
    win.history.pushState({}, '');
    await f.tick();
    assert.equal(f.views(win).length, 1);
  });

  it('two pushStates before the tick: one view of the last URL', async () => {
    const win = start();
    win.history.pushState({}, '', '/b');
    win.history.pushState({}, '', '/c');
    await f.tick();
    const v = f.views(win);
    assert.equal(v.length, 2);
    assert.equal(v[1].get('url'), 'https://www.example.com/c');
    assert.equal(v[1].get('ref'), 'https://www.example.com/a');
  });

  it('popstate: a view of the URL gone back to', async () => {
    const win = start();
    win.history.pushState({}, '', '/b');
    await f.tick();
    win.setUrl('https://www.example.com/a'); /* history.back() */
    f.fire(win, 'popstate', { state: null });
    await f.tick();
    const v = f.views(win);
    assert.equal(v.length, 3);
    assert.equal(v[2].get('url'), 'https://www.example.com/a');
    assert.equal(v[2].get('ref'), 'https://www.example.com/b');
    /* a popstate that does not change the URL: none */
    f.fire(win, 'popstate', { state: null });
    await f.tick();
    assert.equal(f.views(win).length, 3);
  });

  it('spa:false: no views on pushState or popstate, pushState left alone', async () => {
    const win = f.makeWindow({ url: 'https://www.example.com/a' });
    const push = win.history.pushState;
    f.loader(win, ['init', { spa: false }]);
    f.tracker.boot(win);
    assert.equal(win.history.pushState, push);
    win.history.pushState({}, '', '/b');
    win.setUrl('/c');
    f.fire(win, 'popstate', {});
    await f.tick();
    assert.equal(f.views(win).length, 1);
    assert.equal(win.on.popstate, undefined);
  });

  it('no history.pushState: starts anyway', () => {
    const win = f.makeWindow();
    delete win.history;
    f.loader(win, ['init', {}]);
    assert.doesNotThrow(() => f.tracker.boot(win));
    assert.equal(f.views(win).length, 1);
  });

  it('pageshow persisted (back/forward cache): a view; not persisted: none', () => {
    const win = start();
    f.fire(win, 'pageshow', { persisted: false });
    assert.equal(f.views(win).length, 1);
    f.fire(win, 'pagehide', { persisted: true });
    f.fire(win, 'pageshow', { persisted: true });
    const v = f.views(win);
    assert.equal(v.length, 2);
    assert.equal(v[1].get('url'), 'https://www.example.com/a');
  });
});
