/*
 * consent.js: the demo site's own consent manager, a stand-in for a real consent tool (CMP).
 *
 * It is loaded before the leadedge loader, so that a choice stored on an earlier page reaches
 * tracker.js before its first page view. The banner (#consent-banner) has two buttons:
 *   #consent-accept   leadedge('consent', true),  stores "yes"
 *   #consent-decline  leadedge('consent', false), stores "no"
 * The choice is kept in localStorage under "demo-consent", so the banner does not come back on
 * the next page; #consent-settings (in the footer) shows it again.
 */
(function (w, d) {
  'use strict';
  var KEY = 'demo-consent';

  /* The loader's queue, in case tracker.js has not been loaded yet (the loader keeps it). */
  w.leadedge = w.leadedge || function () { (w.leadedge.q = w.leadedge.q || []).push(arguments); };

  function stored() {
    try { return w.localStorage.getItem(KEY); } catch (e) { return null; }
  }

  function store(v) {
    try { w.localStorage.setItem(KEY, v); } catch (e) { /* private mode: ask again next page */ }
  }

  var choice = stored();
  if (choice === 'yes') w.leadedge('consent', true);

  function setup() {
    var banner = d.getElementById('consent-banner');
    if (!banner) return;
    function decide(yes) {
      store(yes ? 'yes' : 'no');
      w.leadedge('consent', yes);
      banner.hidden = true;
    }
    d.getElementById('consent-accept').addEventListener('click', function () { decide(true); });
    d.getElementById('consent-decline').addEventListener('click', function () { decide(false); });
    var settings = d.getElementById('consent-settings');
    if (settings) settings.addEventListener('click', function () { banner.hidden = false; });
    banner.hidden = choice === 'yes' || choice === 'no';
  }

  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', setup);
  else setup();
})(window, document);
