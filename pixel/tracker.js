/*
 * tracker.js: leadedge's browser snippet, served by leadedge at /t.js (minified by terser at
 * build time; this file is the source). No dependencies, no third-party cookies.
 *
 * Loader (README.md, "Tracking a site"): calls made before this file arrives wait in a queue.
 *
 *   <script>
 *     (function (w, d, url) {
 *       w.leadedge = w.leadedge || function () { (w.leadedge.q = w.leadedge.q || []).push(arguments); };
 *       var s = d.createElement('script'); s.async = true; s.src = url + '/t.js';
 *       d.head.appendChild(s);
 *       w.leadedge('init', { endpoint: url, site: 'www' });
 *     })(window, document, 'https://t.example.com');
 *   </script>
 *
 * Commands:
 *   leadedge('init', opts)           opts: endpoint (default: where t.js came from), site,
 *                                    consent ('required', the default, or 'not_required'),
 *                                    auto (page view at once; default true), spa (page views on
 *                                    history.pushState/popstate; true), links (outbound and
 *                                    download clicks; true), forms (CSS selectors of forms to
 *                                    capture besides [data-leadedge-form]), honeypot (the
 *                                    field's name, as forms.honeypot on the server; false: none)
 *   leadedge('consent', true|false)  the visitor's tracking consent, from the site's consent tool
 *   leadedge('track', name, props)   a custom event with properties
 *   leadedge('page')                 a page view (auto, SPA and bfcache views are sent already)
 *
 * Privacy: before consent (when the site requires it) nothing is stored in the browser and the
 * events carry no visitor id, so the server keeps them under its cookieless daily id, never
 * linked to a person. Consent is remembered in localStorage (le_consent, le_vid) until
 * leadedge('consent', false). navigator.globalPrivacyControl and Do Not Track go out as gpc=1 and
 * dnt=1; the server decides (privacy.honour_gpc, privacy.honour_dnt), and under GPC the tracker
 * stores nothing either.
 *
 * Transport: page views and custom events are pixel GETs (/p.gif), which need no CORS; what
 * happens as the page goes away (engagement, link clicks, forms) uses navigator.sendBeacon
 * (/e, /f), else fetch with keepalive.
 *
 * Under Node (the unit tests: tests/unit/tracker) the file exports its parts instead of running.
 */
(function (win) {
  'use strict';

  var MAX_VALUE = 2000; /* bytes of UTF-8; the server's default tracking.max_value_len is 2048 */
  var MAX_PROPS = 30;   /* the server's default tracking.max_props is 32 */
  var MAX_FIELDS = 50;  /* forms.max_fields is 64, and the tracker adds up to 8 of its own */
  var DOWNLOAD = /\.(pdf|zip|gz|tgz|bz2|xz|7z|rar|dmg|exe|msi|pkg|deb|rpm|apk|iso|csv|xlsx?|docx?|pptx?|odt|ods|odp|rtf|epub|mp3|mp4|mov|avi|wav)$/i;
  /* fields never sent, whatever the form says: secrets, card data, anti-forgery tokens (ssn
   * only at either end of the name: businessName and addressNo are kept) */
  var SECRET = /pass(wd|word)?|pwd|secret|token|csrf|xsrf|captcha|card.?(num|no)|cc.?(num|csc|cvc|cvv|exp)|cvv|cvc|iban|(^|[^a-z])ssn|ssn(?![a-z])/i;
  var SKIP_TYPES = /^(password|file|submit|button|reset|image|fieldset|output|object)$/;

  /* ---- pure helpers (unit-tested) ---------------------------------------------------------- */

  function utf8len(s) {
    for (var n = 0, i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? (i++, 4) : 3;
    }
    return n;
  }

  /* A value the server accepts: a string of at most max UTF-8 bytes, without lone surrogates or
   * control characters (keepLines keeps TAB, CR and LF, as form values may have them). */
  function clean(v, keepLines, max) {
    max = max || MAX_VALUE;
    var s = (v == null ? '' : String(v))
      /* a pair stays, any other surrogate is lone (a lookbehind would need a newer browser) */
      .replace(/([\ud800-\udbff][\udc00-\udfff])|[\ud800-\udfff]/g,
               function (m, pair) { return pair || '\ufffd'; })
      .replace(keepLines ? /[\0-\x08\x0b\x0c\x0e-\x1f\x7f]/g : /[\0-\x1f\x7f]/g, ' ');
    if (s.length * 3 <= max) return s;
    s = s.slice(0, max);
    while (utf8len(s) > max) s = s.slice(0, Math.floor(s.length * 0.9));
    return /[\ud800-\udbff]$/.test(s) ? s.slice(0, -1) : s;
  }

  /* An event or property name as the server wants it: 1..64 of [A-Za-z0-9_.:-]. */
  function name(s) {
    return String(s == null ? '' : s).replace(/[^\w.:-]/g, '_').slice(0, 64);
  }

  function prop(v) {
    return typeof v === 'object' && v !== null ? JSON.stringify(v) : v;
  }

  /* [[key, value], ...] -> "k=v&..." */
  function query(pairs) {
    var out = [];
    for (var i = 0; i < pairs.length; i++)
      out.push(encodeURIComponent(pairs[i][0]) + '=' + encodeURIComponent(pairs[i][1]));
    return out.join('&');
  }

  /* The utm_* parameters of a query string ("?utm_source=x&..."), as [[key, value], ...]. */
  function utm(search) {
    var out = [];
    String(search || '').replace(/[?&](utm_(?:source|medium|campaign|term|content))=([^&#]*)/g,
      function (m, k, v) {
        try { v = decodeURIComponent(v.replace(/\+/g, ' ')); } catch (e) { /* keep it raw */ }
        out.push([k, v]);
      });
    return out;
  }

  /* 'download', 'outbound' or '' for a link (an <a> or anything with href, hostname, pathname,
   * protocol and getAttribute) clicked on a page at host. */
  function linkKind(a, host) {
    if (!/^https?:$/.test(a.protocol)) return '';
    if (a.hasAttribute && a.hasAttribute('download')) return 'download';
    if (DOWNLOAD.test(a.pathname)) return 'download';
    return a.hostname && a.hostname !== host ? 'outbound' : '';
  }

  function ignored(el, form) {
    for (var n = el; n && n !== form; n = n.parentNode)
      if (n.hasAttribute && n.hasAttribute('data-leadedge-ignore')) return true;
    return false;
  }

  /* The fields of a form to send, as [[name, value], ...]: no password, file or button inputs,
   * no unchecked boxes, nothing disabled, marked data-leadedge-ignore, or named like a secret. */
  function fields(form) {
    var out = [], els = form.elements || [];
    for (var i = 0; i < els.length && out.length < MAX_FIELDS; i++) {
      var el = els[i], n = el.name, type = String(el.type || '').toLowerCase();
      if (!n || el.disabled || SKIP_TYPES.test(type) || SECRET.test(n) || ignored(el, form)) continue;
      if (/^cc-|password|one-time-code/.test(el.getAttribute && el.getAttribute('autocomplete'))) continue;
      if ((type === 'checkbox' || type === 'radio') && !el.checked) continue;
      if (type === 'select-multiple') {
        for (var j = 0; j < el.options.length && out.length < MAX_FIELDS; j++)
          if (el.options[j].selected) out.push([n, clean(el.options[j].value, true)]);
      } else {
        out.push([n, clean(el.value, true)]);
      }
    }
    return out;
  }

  function formId(form) {
    var a = form.getAttribute('data-leadedge-form');
    return clean(a || form.getAttribute('id') || form.getAttribute('name') || 'form', false, 128);
  }

  function hex(bytes) {
    for (var s = '', i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return s;
  }

  /* ---- the tracker ------------------------------------------------------------------------- */

  function create(w, scriptSrc) {
    var d = w.document, nav = w.navigator || {}, loc = w.location;
    var o = { auto: true, spa: true, links: true, honeypot: 'le_hp', consent: 'required' };
    var endpoint = String(scriptSrc || '').replace(/\/t\.js(?:[?#].*)?$/, '');
    var started = false, booting = false, autoPending = false, held = [];
    var consent = false, decided = false, vid = '';
    var gpc = nav.globalPrivacyControl === true;
    var dnt = nav.doNotTrack === '1' || w.doNotTrack === '1';
    var landing = utm(loc.search), lastUrl = '', ref = d.referrer || '';
    var visible = 0, since = 0, engaged = false, depth = 0, t0 = now();
    var fillStart = typeof WeakMap === 'function' ? new WeakMap() : null;
    var lastForm = '';

    function now() { return Date.now(); }

    function store(k, v) {
      try {
        if (v == null) w.localStorage.removeItem(k);
        else w.localStorage.setItem(k, v);
      } catch (e) { /* storage refused: consent lasts for this page only */ }
    }
    function stored(k) {
      try { return w.localStorage.getItem(k); } catch (e) { return null; }
    }

    function setConsent(yes) {
      consent = !!yes && !gpc;
      if (!consent) {
        vid = '';
        store('le_consent', null);
        store('le_vid', null);
        return;
      }
      vid = stored('le_vid') || '';
      if (!/^[0-9a-f]{32}$/.test(vid)) {
        var b = new Uint8Array(16);
        (w.crypto || w.msCrypto).getRandomValues(b);
        vid = hex(b);
      }
      store('le_consent', '1');
      store('le_vid', vid);
    }

    /* The params every event carries: identity and the privacy signals (a form's have the
     * prefix '_', as its own fields do not). */
    function common(pairs, pre) {
      pre = pre || '';
      if (consent) pairs.push([pre + 'consent', '1'], [pre + 'vid', vid]);
      if (gpc) pairs.push([pre + 'gpc', '1']);
      if (dnt) pairs.push([pre + 'dnt', '1']);
      return pairs;
    }

    function event(e, props, url) {
      var p = [['e', e], ['url', clean(url || loc.href)], ['ref', clean(ref)], ['t', clean(d.title)],
               ['ts', String(now())]];
      var extra = o.site ? [['site', o.site]] : [];
      if (e === 'pv') extra = extra.concat(landing);
      if (props) for (var k in props) if (Object.prototype.hasOwnProperty.call(props, k)) extra.push([k, prop(props[k])]);
      for (var i = 0; i < extra.length && i < MAX_PROPS; i++) {
        var pn = name(extra[i][0]);
        if (pn && extra[i][1] !== undefined && typeof extra[i][1] !== 'function')
          p.push(['p.' + pn, clean(extra[i][1])]);
      }
      return common(p);
    }

    function pixel(pairs) {
      var img = new w.Image(1, 1);
      img.src = endpoint + '/p.gif?' + query(pairs);
    }

    /* POST body to path while the page may be going away. */
    function beacon(path, body) {
      var url = endpoint + path;
      try {
        if (nav.sendBeacon && nav.sendBeacon(url, body)) return true;
      } catch (e) { /* fall through */ }
      if (typeof w.fetch === 'function') {
        w.fetch(url, { method: 'POST', body: body, keepalive: true, mode: 'no-cors', credentials: 'include' })
          ['catch'](function () {});
        return true;
      }
      return false;
    }

    function sendBeaconEvent(e, props, url) {
      var obj = {};
      var pairs = event(e, props, url);
      for (var i = 0; i < pairs.length; i++) obj[pairs[i][0]] = pairs[i][1];
      if (!beacon('/e', JSON.stringify(obj))) pixel(pairs);
    }

    /* again: the same page once more (consent came after its first view): same referrer */
    function page(again) {
      flushEngagement();
      var url = loc.href;
      if (lastUrl && !again) ref = lastUrl;
      pixel(event('pv', null, url));
      lastUrl = url;
      visible = depth = 0;
      since = d.visibilityState === 'hidden' ? 0 : now();
      engaged = false;
    }

    /* Time the page was visible, sent once per page view as it goes away (under the URL it was
     * viewed at: on an SPA navigation, location already has the next one). */
    function flushEngagement() {
      if (!lastUrl || engaged) return;
      var ms = visible + (since ? now() - since : 0);
      engaged = true;
      if (ms < 1000) return;
      var el = d.documentElement || {}, h = el.scrollHeight - (w.innerHeight || 0);
      sendBeaconEvent('engagement', { engaged_ms: ms, scroll: h > 0 ? Math.min(100, Math.round(100 * Math.max(depth, w.pageYOffset || 0) / h)) : 100 },
                      lastUrl);
    }

    function tracked(form) {
      if (!form || !form.getAttribute) return false;
      if (form.hasAttribute('data-leadedge-form')) return true;
      var sel = o.forms || [];
      for (var i = 0; i < sel.length; i++) {
        try { if (form.matches(sel[i])) return true; } catch (e) { /* a bad selector */ }
      }
      return false;
    }

    /* A new input of the form's. */
    function input(form, type, n) {
      var i = form.ownerDocument.createElement('input');
      i.type = type;
      i.name = n;
      form.appendChild(i);
      return i;
    }

    function honeypot(form) {
      var hp = o.honeypot;
      if (!hp || !form.ownerDocument || (form.elements && form.elements[hp])) return;
      var i = input(form, 'text', hp);
      i.tabIndex = -1;
      i.autocomplete = 'off';
      i.setAttribute('aria-hidden', 'true');
      i.style.cssText = 'position:absolute;left:-9999px;width:1px;height:1px;opacity:0';
    }

    function scanForms() {
      var forms = d.forms || [];
      for (var i = 0; i < forms.length; i++) if (tracked(forms[i])) honeypot(forms[i]);
    }

    /* The leadedge fields of a submission. */
    function control(form) {
      var t = fillStart && fillStart.get(form);
      return common([['_form', formId(form)], ['_url', clean(loc.href)], ['_fill_ms', String(now() - (t || t0))]], '_');
    }

    function onSubmit(ev) {
      var form = ev.target;
      if (!tracked(form)) return;
      var c = control(form);
      var action = String(form.action || '');
      if (action.split(/[?#]/)[0] === endpoint + '/f') {
        /* the form posts to leadedge itself: it only needs our fields */
        for (var i = 0; i < c.length; i++) (form.elements[c[i][0]] || input(form, 'hidden', c[i][0])).value = c[i][1];
        return;
      }
      var body = query(c.concat(fields(form)));
      /* the same submission twice (a double click, a site that re-submits) is sent once */
      var same = body.replace(/_fill_ms=\d+/, '');
      if (same === lastForm) return;
      lastForm = same;
      beacon('/f', new w.URLSearchParams(body));
    }

    function onFocus(ev) {
      var form = ev.target && ev.target.form;
      if (fillStart && tracked(form) && !fillStart.get(form)) {
        fillStart.set(form, now());
        honeypot(form);
      }
    }

    function onClick(ev) {
      if (!o.links) return;
      var a = ev.target;
      while (a && !(a.tagName === 'A' && a.href)) a = a.parentNode;
      if (!a) return;
      var kind = linkKind(a, loc.hostname);
      if (kind) sendBeaconEvent(kind, { href: a.href, text: String(a.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 100) });
    }

    function onVisibility() {
      if (d.visibilityState === 'hidden') {
        if (since) visible += now() - since;
        since = 0;
      } else if (!since) {
        since = now();
      }
    }

    function spa() {
      var h = w.history;
      if (!h || !h.pushState) return;
      var push = h.pushState;
      h.pushState = function () {
        var r = push.apply(this, arguments);
        changed();
        return r;
      };
      w.addEventListener('popstate', changed);
    }

    /* A page view for a new URL, once the app has had a moment to set the new title. */
    function changed() {
      setTimeout(function () {
        if (loc.href !== lastUrl) page();
      }, 0);
    }

    function init(opts) {
      if (started) return;
      started = true;
      for (var k in opts || {}) if (Object.prototype.hasOwnProperty.call(opts, k)) o[k] = opts[k];
      if (o.endpoint) endpoint = String(o.endpoint).replace(/\/+$/, '');
      if (typeof o.forms === 'string') o.forms = [o.forms];
      if (!decided) setConsent(o.consent === 'not_required' || stored('le_consent') === '1');
      d.addEventListener('submit', onSubmit, true);
      d.addEventListener('focusin', onFocus, true);
      d.addEventListener('click', onClick, true);
      d.addEventListener('auxclick', onClick, true);
      d.addEventListener('visibilitychange', onVisibility);
      w.addEventListener('pagehide', flushEngagement);
      w.addEventListener('scroll', function () { depth = Math.max(depth, w.pageYOffset || 0); }, { passive: true });
      w.addEventListener('pageshow', function (ev) { if (ev.persisted) page(); });
      if (o.spa) spa();
      if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', scanForms);
      else scanForms();
      /* while the loader's queue is replayed, the first view waits for a consent call in it */
      if (o.auto) booting ? (autoPending = true) : page();
      while (held.length) run(held.shift());
    }

    /* One command; track and page wait for init (the endpoint). */
    function run(args) {
      var cmd = args[0];
      if (cmd === 'init') init(args[1]);
      else if (cmd === 'consent') {
        var was = consent;
        decided = true;
        setConsent(args[1]);
        /* this page was seen without consent: seen again with it, so the journey has it */
        if (consent && !was && lastUrl) page(true);
      } else if (!started) held.push(args);
      else if (cmd === 'track') track(args[1], args[2]);
      else if (cmd === 'page') page();
    }

    function track(e, props) {
      e = name(e);
      if (e && e !== 'pageview' && e !== 'form' && e !== 'pv') pixel(event(e, props));
    }

    function api() {
      try { run(arguments); } catch (e) { /* never break the page */ }
    }
    api.loaded = true;
    /* Replay the loader's queue; without an init in it, start with the defaults. */
    api.replay = function (queued) {
      var hasInit = false;
      booting = true;
      for (var i = 0; i < queued.length; i++) {
        hasInit = hasInit || queued[i][0] === 'init';
        api.apply(null, queued[i]);
      }
      if (!hasInit) api('init', {});
      booting = false;
      if (autoPending) {
        autoPending = false;
        page();
      }
    };
    return api;
  }

  function boot(w) {
    var q = w.leadedge;
    if (q && q.loaded) return; /* the snippet is on the page twice */
    var s = w.document.currentScript;
    var api = create(w, s && s.src);
    w.leadedge = api;
    api.replay((q && q.q) || []);
  }

  var parts = { clean: clean, utf8len: utf8len, name: name, query: query, utm: utm,
                linkKind: linkKind, fields: fields, formId: formId, create: create, boot: boot };
  if (win && win.document) boot(win);
  else if (typeof module === 'object' && module.exports) module.exports = parts;
})(typeof window !== 'undefined' ? window : undefined);
