'use strict';
/*
 * A small fake browser for tracker.js's unit tests: just the window, document, location,
 * history, navigator, storage, Image, form and link objects tracker.js touches, recording what
 * it sends (pixel GETs, sendBeacon and fetch calls) and the event handlers it installs, so the
 * tests can dispatch events and assert on exact params.
 */
const path = require('path');
const nodeCrypto = require('crypto');

const TRACKER = path.join(__dirname, '../../../pixel/tracker.js');
const tracker = require(TRACKER);

/* ---- storage ------------------------------------------------------------------------------- */

function storage() {
  const map = new Map();
  return {
    map,
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => { map.set(String(k), String(v)); },
    removeItem: (k) => { map.delete(String(k)); },
    clear: () => map.clear(),
    get length() { return map.size; },
  };
}

/* A storage that refuses everything (Safari private mode of old, storage disabled). */
function throwingStorage() {
  const no = () => { throw new Error('SecurityError: storage refused'); };
  return { map: new Map(), getItem: no, setItem: no, removeItem: no, clear: no };
}

/* ---- elements ------------------------------------------------------------------------------ */

function attrsOf(obj, attrs) {
  obj.attrs = Object.assign({}, attrs || {});
  obj.getAttribute = (n) => (Object.prototype.hasOwnProperty.call(obj.attrs, n) ? obj.attrs[n] : null);
  obj.hasAttribute = (n) => Object.prototype.hasOwnProperty.call(obj.attrs, n);
  obj.setAttribute = (n, v) => { obj.attrs[n] = String(v); };
  obj.removeAttribute = (n) => { delete obj.attrs[n]; };
  return obj;
}

/* A generic element (div, span, input made by createElement...). */
function element(tag, attrs, props) {
  const el = attrsOf({ tagName: String(tag).toUpperCase(), parentNode: null, style: {}, children: [] }, attrs);
  el.appendChild = (c) => { c.parentNode = el; el.children.push(c); return c; };
  return Object.assign(el, props || {});
}

/* A form control: {name, type, value, checked, disabled, options, attrs, parentNode}. */
function field(spec) {
  const s = Object.assign({ type: 'text', value: '' }, spec);
  const tag = s.tag || (s.type === 'textarea' ? 'textarea' : /^select/.test(s.type) ? 'select' : 'input');
  const el = element(tag, s.attrs, {
    name: s.name === undefined ? '' : s.name,
    type: s.type,
    value: s.value,
    checked: !!s.checked,
    disabled: !!s.disabled,
    options: s.options || [],
    form: null,
  });
  if (s.parentNode) el.parentNode = s.parentNode;
  return el;
}

const FIELD_TAGS = /^(INPUT|SELECT|TEXTAREA|BUTTON)$/;
const RESERVED = new Set(['length', 'push', 'item', 'namedItem']);

/* Add a control to form.elements, with named access as HTMLFormControlsCollection has. */
function register(form, el) {
  form.elements.push(el);
  if (el.name && !RESERVED.has(el.name) && !(el.name in form.elements)) form.elements[el.name] = el;
  el.form = form;
  if (!el.parentNode) el.parentNode = form;
}

/* Simple selectors only: tag, #id, .class, [attr], [attr=value], and tag-prefixed forms of them.
 * Anything else throws, as querySelector does for a bad selector. */
function matches(el, sel) {
  const m = /^([a-z]+)?(?:#([\w-]+)|\.([\w-]+)|\[([\w-]+)(?:=["']?([^"'\]]*)["']?)?\])?$/i.exec(sel);
  if (!m || sel === '') throw new Error('SyntaxError: bad selector ' + sel);
  if (m[1] && m[1].toUpperCase() !== el.tagName) return false;
  if (m[2] !== undefined) return el.getAttribute('id') === m[2];
  if (m[3] !== undefined) return String(el.getAttribute('class') || '').split(/\s+/).includes(m[3]);
  if (m[4] !== undefined) return m[5] === undefined ? el.hasAttribute(m[4]) : el.getAttribute(m[4]) === m[5];
  return true;
}

/* A form: form({attrs, action, fields: [field(...)...]}, doc). */
function form(spec, doc) {
  const s = spec || {};
  const f = element('form', s.attrs, { action: s.action || '', ownerDocument: doc || null });
  f.elements = [];
  f.matches = (sel) => matches(f, sel);
  f.appendChild = (c) => {
    c.parentNode = f;
    f.children.push(c);
    if (FIELD_TAGS.test(c.tagName)) register(f, c);
    return c;
  };
  for (const el of s.fields || []) register(f, el);
  return f;
}

/* An <a href>, as the DOM resolves it (href, protocol, hostname, pathname from the URL). */
function anchor(href, attrs, text) {
  const u = new URL(href);
  return element('a', attrs, {
    href: u.href, protocol: u.protocol, hostname: u.hostname, host: u.host, pathname: u.pathname,
    textContent: text === undefined ? '' : text,
  });
}

/* ---- window -------------------------------------------------------------------------------- */

function listeners() {
  const on = {};
  return {
    on,
    addEventListener(type, fn) { (on[type] = on[type] || []).push(fn); },
    removeEventListener(type, fn) { on[type] = (on[type] || []).filter((f) => f !== fn); },
  };
}

/*
 * makeWindow(opts): opts.url (location), referrer, title, readyState, visibilityState,
 * scriptSrc (document.currentScript.src; null: no currentScript), storage (a storage object),
 * gpc (navigator.globalPrivacyControl), dnt (navigator.doNotTrack), winDnt (window.doNotTrack),
 * beacon (false: navigator has no sendBeacon), fetch (false: no window.fetch), forms.
 * The window records: win.images (every Image src set), win.beacons ({url, body}), win.fetches
 * ({url, init}); win.beaconResult is what sendBeacon returns (default true).
 */
function makeWindow(opts) {
  const o = Object.assign({
    url: 'https://www.example.com/start?x=1',
    referrer: 'https://search.example.org/?q=leadedge',
    title: 'Start page',
    readyState: 'complete',
    visibilityState: 'visible',
    scriptSrc: 'https://t.example.com/t.js',
  }, opts || {});

  const win = listeners();
  win.images = [];
  win.beacons = [];
  win.fetches = [];
  win.beaconResult = true;

  /* location, kept in sync with history.pushState */
  const location = {};
  function setUrl(u) {
    const url = new URL(u, location.href || undefined);
    Object.assign(location, {
      href: url.href, protocol: url.protocol, host: url.host, hostname: url.hostname,
      port: url.port, pathname: url.pathname, search: url.search, hash: url.hash, origin: url.origin,
    });
  }
  setUrl(o.url);
  win.location = location;
  win.setUrl = setUrl;

  const history = {
    length: 1,
    state: null,
    pushState(state, title, url) {
      this.state = state;
      this.length++;
      if (url != null) setUrl(String(url));
    },
    replaceState(state, title, url) {
      this.state = state;
      if (url != null) setUrl(String(url));
    },
  };
  win.history = history;

  const doc = listeners();
  Object.assign(doc, {
    title: o.title,
    referrer: o.referrer,
    readyState: o.readyState,
    visibilityState: o.visibilityState,
    forms: [],
    currentScript: o.scriptSrc === null ? null : { src: o.scriptSrc },
    documentElement: { scrollHeight: o.scrollHeight === undefined ? 3000 : o.scrollHeight },
    createElement: (tag) => element(tag),
  });
  doc.defaultView = win;
  win.document = doc;
  for (const spec of o.forms || []) doc.forms.push(form(spec, doc));

  const nav = { userAgent: 'fake', language: 'en' };
  if (o.gpc !== undefined) nav.globalPrivacyControl = o.gpc;
  if (o.dnt !== undefined) nav.doNotTrack = o.dnt;
  if (o.beacon !== false) {
    nav.sendBeacon = (url, body) => {
      win.beacons.push({ url, body });
      return win.beaconResult;
    };
  }
  win.navigator = nav;
  if (o.winDnt !== undefined) win.doNotTrack = o.winDnt;

  win.localStorage = o.storage || storage();

  function Image(w, h) {
    this.width = w;
    this.height = h;
  }
  Object.defineProperty(Image.prototype, 'src', {
    set(v) { this._src = v; win.images.push(v); },
    get() { return this._src; },
  });
  win.Image = Image;

  win.crypto = nodeCrypto.webcrypto;
  win.URLSearchParams = URLSearchParams;
  if (o.fetch !== false) {
    win.fetch = (url, init) => {
      win.fetches.push({ url, init });
      return Promise.resolve({ ok: true, status: 204 });
    };
  }
  win.innerHeight = o.innerHeight === undefined ? 1000 : o.innerHeight;
  win.pageYOffset = o.pageYOffset || 0;
  return win;
}

/* Call every handler target has for type, as the browser would; returns the event. */
function fire(target, type, ev) {
  const e = Object.assign({ type }, ev || {});
  for (const fn of (target.on[type] || []).slice()) fn.call(target, e);
  return e;
}

/* The loader snippet's stub (README.md), with commands queued as the page calls it. */
function loader(win, ...calls) {
  win.leadedge = win.leadedge || function () { (win.leadedge.q = win.leadedge.q || []).push(arguments); };
  for (const c of calls) win.leadedge(...c);
  return win.leadedge;
}

/* A window, the loader with calls queued, then tracker.js arriving (boot): returns the window,
 * whose leadedge is the tracker's api. */
function page(opts, ...calls) {
  const win = makeWindow(opts);
  loader(win, ...calls);
  tracker.boot(win);
  return win;
}

/* ---- what was sent ------------------------------------------------------------------------- */

/* A recorded URL: {base: origin + path, params: [[k, v]...], get(k), keys(), has(k)} */
function parse(src) {
  const u = new URL(src);
  const params = [...u.searchParams];
  return {
    src,
    base: u.origin + u.pathname,
    params,
    keys: () => params.map((p) => p[0]),
    get: (k) => u.searchParams.get(k),
    has: (k) => u.searchParams.has(k),
    props: () => params.filter((p) => p[0].startsWith('p.')),
  };
}

function pixels(win) { return win.images.map(parse); }
function views(win) { return pixels(win).filter((p) => p.get('e') === 'pv'); }
/* beacons as {url, body: parsed JSON (for /e) or [[k, v]...] (for /f)} */
function beacons(win) {
  return win.beacons.map((b) => ({
    url: b.url,
    raw: b.body,
    body: typeof b.body === 'string' ? JSON.parse(b.body) : [...b.body],
  }));
}

/* ---- time ---------------------------------------------------------------------------------- */

/* Date.now under the test's control: clock.set(ms), clock.tick(ms), clock.restore(). */
function fakeClock(start) {
  const real = Date.now;
  const c = {
    t: start === undefined ? 1700000000000 : start,
    set(ms) { c.t = ms; },
    tick(ms) { c.t += ms; },
    restore() { Date.now = real; },
  };
  Date.now = () => c.t;
  return c;
}

/* Let the tracker's setTimeout(..., 0) run. */
const tick = () => new Promise((r) => setTimeout(r, 5));

module.exports = {
  TRACKER, tracker, storage, throwingStorage, element, field, form, anchor, matches,
  makeWindow, fire, loader, page, parse, pixels, views, beacons, fakeClock, tick,
};
