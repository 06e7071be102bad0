/*
 * tracker.js: the minimal leadedge snippet (the full tracker is its own issue).
 *
 * Loader:
 *   <script>window.leadedge=window.leadedge||function(){(leadedge.q=leadedge.q||[]).push(arguments)};
 *   leadedge('init',{endpoint:'https://t.example.com'});</script>
 *   <script async src="https://t.example.com/t.js"></script>
 *
 * Calls queued before the script loads are replayed. Commands:
 *   leadedge('init', {endpoint, site, auto})  auto page view unless auto === false
 *   leadedge('consent', true|false)           tracking consent (sent as consent=1)
 *   leadedge('track', name, props)            a custom event with props
 *   leadedge('page')                          a page view
 * It sets no cookie itself; the server sets its first-party cookie only with consent.
 */
(function (w, d) {
  'use strict';
  var script = d.currentScript;
  var endpoint = script && script.src ? script.src.replace(/\/t\.js(?:\?.*)?$/, '') : '';
  var consent = false;
  var started = false;
  var enc = encodeURIComponent;

  function send(name, props) {
    var q = ['e=' + enc(name), 'url=' + enc(location.href), 'ref=' + enc(d.referrer),
             't=' + enc(d.title), 'ts=' + Date.now()];
    if (consent) q.push('consent=1');
    if (props) {
      for (var k in props) {
        if (Object.prototype.hasOwnProperty.call(props, k)) q.push('p.' + enc(k) + '=' + enc(String(props[k])));
      }
    }
    var img = new Image(1, 1);
    img.src = endpoint + '/p.gif?' + q.join('&');
  }

  function api(cmd, a, b) {
    if (cmd === 'init') {
      a = a || {};
      if (a.endpoint) endpoint = String(a.endpoint).replace(/\/$/, '');
      if (!started && a.auto !== false) { started = true; send('pv'); }
    } else if (cmd === 'consent') {
      consent = !!a;
    } else if (cmd === 'track') {
      send(String(a), b);
    } else if (cmd === 'page') {
      send('pv');
    }
  }

  var queued = (w.leadedge && w.leadedge.q) || [];
  w.leadedge = api;
  var hasInit = false;
  for (var i = 0; i < queued.length; i++) {
    if (queued[i][0] === 'init') hasInit = true;
    api.apply(null, queued[i]);
  }
  if (!hasInit) api('init', {});
})(window, document);
