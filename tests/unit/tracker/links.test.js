'use strict';
/* Link clicks: outbound and download links, as beacon events. */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const f = require('./fakes');

const EP = 'https://t.example.com';
const HOST = 'www.example.com';

describe('linkKind', () => {
  const kind = (href, attrs) => f.tracker.linkKind(f.anchor(href, attrs), HOST);

  it('another host: outbound', () => {
    assert.equal(kind('https://other.example.org/page'), 'outbound');
    assert.equal(kind('http://other.example.org/'), 'outbound');
    assert.equal(kind('https://example.com/'), 'outbound'); /* a different host name */
  });

  it('downloads by extension, any host, any case', () => {
    for (const ext of ['pdf', 'zip', 'tar.gz', 'dmg', 'exe', 'csv', 'xlsx', 'xls', 'docx', 'pptx', 'mp4', 'PDF'])
      assert.equal(kind('https://www.example.com/files/report.' + ext), 'download', ext);
    assert.equal(kind('https://cdn.example.net/a/b.zip?x=1#y'), 'download');
  });

  it('the download attribute: a download, even on the same host without an extension', () => {
    assert.equal(kind('https://www.example.com/export', { download: '' }), 'download');
    assert.equal(kind('https://www.example.com/export', { download: 'report.txt' }), 'download');
  });

  it('the same host, not a download: nothing', () => {
    assert.equal(kind('https://www.example.com/pricing'), '');
    assert.equal(kind('https://www.example.com/pdf'), '');
    assert.equal(kind('https://www.example.com/file.pdf.html'), '');
    assert.equal(kind('http://www.example.com/'), '');
  });

  it('mailto:, tel:, javascript: nothing, even with download', () => {
    const link = (href, protocol) => Object.assign(f.element('a', { download: '' }),
      { href, protocol, hostname: '', pathname: href.slice(protocol.length) });
    assert.equal(f.tracker.linkKind(link('mailto:sales@example.com', 'mailto:'), HOST), '');
    assert.equal(f.tracker.linkKind(link('tel:+4912345', 'tel:'), HOST), '');
    assert.equal(f.tracker.linkKind(link('javascript:void(0)', 'javascript:'), HOST), '');
    assert.equal(f.tracker.linkKind(link('ftp://files.example.org/a.zip', 'ftp:'), HOST), '');
  });
});

describe('link clicks', () => {
  function start(init) {
    return f.page({ url: 'https://www.example.com/docs', title: 'Docs' },
      ['init', Object.assign({ endpoint: EP }, init || {})]);
  }

  /* a <span> inside a <strong> inside an <a> inside a <p> */
  function nested(href, attrs, text) {
    const p = f.element('p');
    const a = f.anchor(href, attrs, text);
    a.parentNode = p;
    const strong = f.element('strong');
    strong.parentNode = a;
    const span = f.element('span');
    span.parentNode = strong;
    return { a, span };
  }

  it('a click inside an outbound link: a beacon event "outbound" with p.href and p.text', () => {
    const win = start();
    const { span } = nested('https://partner.example.org/offer?id=1', {}, '  Our\n  partner\toffer ');
    f.fire(win.document, 'click', { target: span });
    const b = f.beacons(win);
    assert.equal(b.length, 1);
    assert.equal(b[0].url, EP + '/e');
    assert.equal(b[0].body.e, 'outbound');
    assert.equal(b[0].body.url, 'https://www.example.com/docs');
    assert.equal(b[0].body['p.href'], 'https://partner.example.org/offer?id=1');
    assert.equal(b[0].body['p.text'], 'Our partner offer');
    assert.deepEqual(Object.keys(b[0].body), ['e', 'url', 'ref', 't', 'ts', 'p.href', 'p.text']);
  });

  it('a download link (same host): "download"', () => {
    const win = start();
    const { span } = nested('https://www.example.com/files/whitepaper.pdf', {}, 'x'.repeat(300));
    f.fire(win.document, 'click', { target: span });
    const b = f.beacons(win);
    assert.equal(b.length, 1);
    assert.equal(b[0].body.e, 'download');
    assert.equal(b[0].body['p.href'], 'https://www.example.com/files/whitepaper.pdf');
    assert.equal(b[0].body['p.text'], 'x'.repeat(100));
  });

  it('a middle click (auxclick) counts too', () => {
    const win = start();
    f.fire(win.document, 'auxclick', { target: f.anchor('https://other.example.org/') });
    assert.equal(f.beacons(win)[0].body.e, 'outbound');
  });

  it('same-host links, clicks outside links, mailto: nothing', () => {
    const win = start();
    f.fire(win.document, 'click', { target: nested('https://www.example.com/pricing').span });
    f.fire(win.document, 'click', { target: f.element('button') });
    f.fire(win.document, 'click', { target: null });
    const mail = Object.assign(f.element('a'), { href: 'mailto:a@example.com', protocol: 'mailto:', hostname: '' });
    f.fire(win.document, 'click', { target: mail });
    /* an <a> without href (an anchor name) is not a link */
    const noHref = Object.assign(f.element('a'), { href: '' });
    const inner = f.element('span');
    inner.parentNode = noHref;
    f.fire(win.document, 'click', { target: inner });
    assert.equal(win.beacons.length, 0);
    assert.equal(win.fetches.length, 0);
    assert.equal(win.images.length, 1);
  });

  it('carries consent and vid', () => {
    const win = start();
    win.leadedge('consent', true);
    f.fire(win.document, 'click', { target: f.anchor('https://other.example.org/') });
    const body = f.beacons(win)[0].body;
    assert.equal(body.consent, '1');
    assert.equal(body.vid, win.localStorage.getItem('le_vid'));
  });

  it('links:false: nothing', () => {
    const win = start({ links: false });
    f.fire(win.document, 'click', { target: f.anchor('https://other.example.org/') });
    f.fire(win.document, 'click', { target: f.anchor('https://www.example.com/a.pdf') });
    assert.equal(win.beacons.length, 0);
    assert.equal(win.images.length, 1);
  });
});
