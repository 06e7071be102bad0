'use strict';
/* Pixel URLs: /p.gif?e=...&url=...&ref=...&t=...&ts=...&p.<name>=... */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const f = require('./fakes');

describe('pixel URLs', () => {
  let clock;
  before(() => { clock = f.fakeClock(1700000000123); });
  after(() => clock.restore());

  it('a page view has exactly e, url, ref, t, ts', () => {
    const win = f.page({ url: 'https://www.example.com/pricing', referrer: 'https://news.example.org/a?b=c',
      title: 'Pricing' }, ['init', { endpoint: 'https://t.example.com' }]);
    assert.equal(win.images.length, 1);
    const p = f.parse(win.images[0]);
    assert.equal(p.base, 'https://t.example.com/p.gif');
    assert.deepEqual(p.params, [
      ['e', 'pv'],
      ['url', 'https://www.example.com/pricing'],
      ['ref', 'https://news.example.org/a?b=c'],
      ['t', 'Pricing'],
      ['ts', '1700000000123'],
    ]);
    assert.equal(win.images[0], 'https://t.example.com/p.gif?e=pv&url=https%3A%2F%2Fwww.example.com%2Fpricing' +
      '&ref=https%3A%2F%2Fnews.example.org%2Fa%3Fb%3Dc&t=Pricing&ts=1700000000123');
  });

  it('unicode and reserved characters round-trip through encodeURIComponent', () => {
    const title = 'Ünïcødé & more? = #1 + 100% 日本語 😀 a/b;c,d';
    const win = f.page({ url: 'https://www.example.com/ä/x?q=a%20b&r=1+2#frag', referrer: '', title },
      ['init', {}]);
    const src = win.images[0];
    assert.ok(src.includes('&t=' + encodeURIComponent(title) + '&'), src);
    const p = f.parse(src);
    assert.equal(p.get('t'), title);
    assert.equal(p.get('url'), 'https://www.example.com/%C3%A4/x?q=a%20b&r=1+2#frag');
    assert.equal(p.get('ref'), '');
    /* nothing outside encodeURIComponent's unreserved set is left raw in the query */
    assert.match(src.split('?')[1], /^[A-Za-z0-9\-_.!~*'()%=&]+$/);
  });

  it('p.site from init', () => {
    const win = f.page({}, ['init', { site: 'docs' }]);
    const p = f.views(win)[0];
    assert.equal(p.get('p.site'), 'docs');
    assert.deepEqual(p.keys(), ['e', 'url', 'ref', 't', 'ts', 'p.site']);
  });

  it('the landing page\'s utm_* go out as p.utm_* on page views (not on custom events)', () => {
    const win = f.page({
      url: 'https://www.example.com/?a=1&utm_source=news%20letter&utm_medium=email&utm_campaign=spring+sale' +
        '&utm_term=x%26y&utm_content=&utm_other=no&xutm_source=no#utm_source=hash',
    }, ['init', { site: 'www' }]);
    const p = f.views(win)[0];
    assert.deepEqual(p.props(), [
      ['p.site', 'www'],
      ['p.utm_source', 'news letter'],
      ['p.utm_medium', 'email'],
      ['p.utm_campaign', 'spring sale'],
      ['p.utm_term', 'x&y'],
      ['p.utm_content', ''],
    ]);
    win.leadedge('track', 'signup');
    assert.deepEqual(f.pixels(win)[1].props(), [['p.site', 'www']]);
  });

  it('utm() parses a query string, keeping a bad escape raw', () => {
    assert.deepEqual(f.tracker.utm('?utm_source=a%ZZ&utm_medium=b'), [['utm_source', 'a%ZZ'], ['utm_medium', 'b']]);
    assert.deepEqual(f.tracker.utm(''), []);
    assert.deepEqual(f.tracker.utm(undefined), []);
  });

  it('track(name, props): p.<name> props; objects as JSON; functions and undefined dropped', () => {
    const win = f.page({}, ['init', { endpoint: 'https://t.example.com' }]);
    win.leadedge('track', 'Sign up!', {
      plan: 'pro', seats: 3, yes: true, obj: { a: [1, 'x'] }, arr: [1, 2],
      fn() {}, undef: undefined, 'bad key/é': 'v', nul: null,
    });
    const p = f.pixels(win)[1];
    assert.equal(p.base, 'https://t.example.com/p.gif');
    assert.deepEqual(p.params.slice(0, 1), [['e', 'Sign_up_']]);
    assert.deepEqual(p.keys().slice(1, 5), ['url', 'ref', 't', 'ts']);
    assert.deepEqual(p.props(), [
      ['p.plan', 'pro'],
      ['p.seats', '3'],
      ['p.yes', 'true'],
      ['p.obj', '{"a":[1,"x"]}'],
      ['p.arr', '[1,2]'],
      ['p.bad_key__', 'v'],
      ['p.nul', ''],
    ]);
  });

  it('inherited props are not sent', () => {
    const win = f.page({}, ['init', {}]);
    const props = Object.create({ inherited: 'no' });
    props.own = 'yes';
    win.leadedge('track', 'e', props);
    assert.deepEqual(f.pixels(win)[1].props(), [['p.own', 'yes']]);
  });

  it('name(): invalid characters become _, at most 64', () => {
    assert.equal(f.tracker.name('a b/c.d:e-f_g'), 'a_b_c.d:e-f_g');
    assert.equal(f.tracker.name('x'.repeat(100)), 'x'.repeat(64));
    assert.equal(f.tracker.name(null), '');
    assert.equal(f.tracker.name('日本'), '__');
  });

  it('at most 30 props, site included', () => {
    const many = {};
    for (let i = 0; i < 40; i++) many['k' + i] = i;
    let win = f.page({}, ['init', {}]);
    win.leadedge('track', 'many', many);
    let props = f.pixels(win)[1].props();
    assert.equal(props.length, 30);
    assert.deepEqual(props.map((p) => p[0]), Array.from({ length: 30 }, (_, i) => 'p.k' + i));

    win = f.page({}, ['init', { site: 's' }]);
    win.leadedge('track', 'many', many);
    props = f.pixels(win)[1].props();
    assert.equal(props.length, 30);
    assert.deepEqual(props[0], ['p.site', 's']);
    assert.deepEqual(props[29], ['p.k28', '28']);
  });

  it('the reserved names pageview, form and pv, and empty names, are not sent by track', () => {
    const win = f.page({}, ['init', {}]);
    for (const n of ['pageview', 'form', 'pv', '', null, undefined]) win.leadedge('track', n, { a: 1 });
    assert.equal(win.images.length, 1);
    win.leadedge('track', 'form2');
    assert.equal(f.pixels(win)[1].get('e'), 'form2');
  });

  it('long and unicode prop values are cleaned before encoding', () => {
    const win = f.page({}, ['init', {}]);
    win.leadedge('track', 'x', { long: 'é'.repeat(5000), bad: 'a\ud800b\n' });
    const p = f.pixels(win)[1];
    assert.ok(Buffer.byteLength(p.get('p.long')) <= 2000);
    assert.ok(p.get('p.long').length >= 900);
    assert.equal(p.get('p.bad'), 'a\ufffdb ');
  });

  it('query() encodes keys and values', () => {
    assert.equal(f.tracker.query([['a b', 'c&d'], ['p.x', '=/?#']]), 'a%20b=c%26d&p.x=%3D%2F%3F%23');
    assert.equal(f.tracker.query([]), '');
  });
});
