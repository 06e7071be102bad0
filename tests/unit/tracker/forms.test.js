'use strict';
/* Forms: which fields go out (fields, formId), and submissions (beacon to /f, hidden inputs,
 * the honeypot). */
const { describe, it, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const f = require('./fakes');

const { fields, formId } = f.tracker;
const EP = 'https://t.example.com';
const T0 = 1700000000000;
const VID = /^[0-9a-f]{32}$/;

describe('fields', () => {
  it('keeps what a lead form says, skips secrets, buttons, files, unchecked and ignored fields', () => {
    const ignoredBox = f.element('div', { 'data-leadedge-ignore': '' });
    const fm = f.form({
      fields: [
        f.field({ name: 'name', value: 'Ada Lovelace' }),
        f.field({ name: 'email', type: 'email', value: 'ada@example.com' }),
        f.field({ name: 'pw', type: 'password', value: 'hunter2' }),
        f.field({ name: 'PW2', type: 'PASSWORD', value: 'hunter2' }),
        f.field({ name: 'cv', type: 'file', value: 'C:\\fakepath\\cv.pdf' }),
        f.field({ name: 'go', type: 'submit', value: 'Send' }),
        f.field({ name: 'b', type: 'button', value: 'b' }),
        f.field({ name: 'r', type: 'reset', value: 'r' }),
        f.field({ name: 'img', type: 'image', value: 'i' }),
        f.field({ name: 'dis', value: 'disabled', disabled: true }),
        f.field({ name: 'news', type: 'checkbox', value: 'on', checked: false }),
        f.field({ name: 'terms', type: 'checkbox', value: 'yes', checked: true }),
        f.field({ name: 'plan', type: 'radio', value: 'basic', checked: false }),
        f.field({ name: 'plan', type: 'radio', value: 'pro', checked: true }),
        f.field({ name: 'private_note', value: 'x', attrs: { 'data-leadedge-ignore': '' } }),
        f.field({ name: 'internal', value: 'y', parentNode: ignoredBox }),
        f.field({ name: 'password', value: 'as text' }),
        f.field({ name: 'user_password_confirm', value: 'z' }),
        f.field({ name: 'csrf_token', type: 'hidden', value: 'abc' }),
        f.field({ name: 'authenticity_token', type: 'hidden', value: 'abc' }),
        f.field({ name: 'cc-number', value: '4111111111111111' }),
        f.field({ name: 'cardNumber', value: '4111111111111111' }),
        f.field({ name: 'iban', value: 'DE89370400440532013000' }),
        f.field({ name: 'ssn', value: '078-05-1120' }),
        f.field({ name: 'customer_ssn', value: '078-05-1120' }),
        f.field({ name: 'userSSN', value: '078-05-1120' }),
        f.field({ name: 'ssnLast4', value: '1120' }),
        f.field({ name: 'g-recaptcha-response', type: 'textarea', value: 'x' }),
        f.field({ name: 'expiry', value: '12/30', attrs: { autocomplete: 'cc-exp' } }),
        f.field({ name: 'holder', value: 'ADA', attrs: { autocomplete: 'cc-name' } }),
        f.field({ name: 'code', value: '123456', attrs: { autocomplete: 'one-time-code' } }),
        f.field({ name: 'np', value: 'secret!', attrs: { autocomplete: 'new-password' } }),
        f.field({ name: 'topics', type: 'select-multiple', options: [
          { value: 'crm', selected: true }, { value: 'seo', selected: false }, { value: 'ads', selected: true }] }),
        f.field({ name: 'country', type: 'select-one', value: 'DE' }),
        f.field({ name: 'message', type: 'textarea', value: 'Hello\r\nWorld\t!\x00\x07' }),
        f.field({ name: '', value: 'nameless' }),
        f.field({ name: 'campaign', type: 'hidden', value: 'spring' }),
        f.field({ name: 'phone', type: 'tel', value: '+49 30 1234', attrs: { autocomplete: 'tel' } }),
      ],
    });
    ignoredBox.parentNode = fm;
    assert.deepEqual(fields(fm), [
      ['name', 'Ada Lovelace'],
      ['email', 'ada@example.com'],
      ['terms', 'yes'],
      ['plan', 'pro'],
      ['topics', 'crm'],
      ['topics', 'ads'],
      ['country', 'DE'],
      ['message', 'Hello\r\nWorld\t!  '],
      ['campaign', 'spring'],
      ['phone', '+49 30 1234'],
    ]);
  });

  it('names that only look like a secret are kept', () => {
    const fm = f.form({ fields: [
      f.field({ name: 'businessName', value: 'ACME Ltd' }),
      f.field({ name: 'businessNumber', value: 'HRB 1234' }),
      f.field({ name: 'addressNo', value: '12a' }),
      f.field({ name: 'company', value: 'ACME' }),
    ] });
    assert.deepEqual(fields(fm), [['businessName', 'ACME Ltd'], ['businessNumber', 'HRB 1234'],
      ['addressNo', '12a'], ['company', 'ACME']]);
  });

  it('a field ignored through an ancestor only within the form', () => {
    /* data-leadedge-ignore above the form does not hide the form's fields */
    const outer = f.element('div', { 'data-leadedge-ignore': '' });
    const fm = f.form({ fields: [f.field({ name: 'a', value: '1' })] });
    fm.parentNode = outer;
    assert.deepEqual(fields(fm), [['a', '1']]);
  });

  it('at most 50 fields', () => {
    const many = [];
    for (let i = 0; i < 60; i++) many.push(f.field({ name: 'f' + i, value: String(i) }));
    const out = fields(f.form({ fields: many }));
    assert.equal(out.length, 50);
    assert.deepEqual(out[49], ['f49', '49']);
  });

  it('a select-multiple counts each value against the 50', () => {
    const opts = [];
    for (let i = 0; i < 80; i++) opts.push({ value: 'o' + i, selected: true });
    const out = fields(f.form({ fields: [f.field({ name: 's', type: 'select-multiple', options: opts }),
      f.field({ name: 'after', value: 'x' })] }));
    /* the server refuses a submission over forms.max_fields (64) whole */
    assert.equal(out.length, 50);
    assert.deepEqual(out[49], ['s', 'o49']);
    assert.equal(out.some((p) => p[0] === 'after'), false);
  });

  it('values are cleaned (control characters, lone surrogates, 2000 bytes)', () => {
    const out = fields(f.form({ fields: [
      f.field({ name: 'a', value: 'x\ud800y' }),
      f.field({ name: 'b', value: 'é'.repeat(3000) }),
      f.field({ name: 'c', value: 42 }),
    ] }));
    assert.equal(out[0][1], 'x\ufffdy');
    assert.ok(Buffer.byteLength(out[1][1]) <= 2000);
    assert.equal(out[2][1], '42');
  });

  it('a form without elements: none', () => {
    assert.deepEqual(fields(f.form({})), []);
    assert.deepEqual(fields({}), []);
  });
});

describe('formId', () => {
  it('data-leadedge-form, else id, else name, else "form"', () => {
    assert.equal(formId(f.form({ attrs: { 'data-leadedge-form': 'contact', id: 'c1', name: 'n' } })), 'contact');
    assert.equal(formId(f.form({ attrs: { 'data-leadedge-form': '', id: 'c1', name: 'n' } })), 'c1');
    assert.equal(formId(f.form({ attrs: { id: 'c1', name: 'n' } })), 'c1');
    assert.equal(formId(f.form({ attrs: { name: 'newsletter' } })), 'newsletter');
    assert.equal(formId(f.form({})), 'form');
  });

  it('cleaned, at most 128 bytes', () => {
    assert.equal(formId(f.form({ attrs: { id: 'a\nb' } })), 'a b');
    assert.equal(formId(f.form({ attrs: { id: 'x'.repeat(500) } })), 'x'.repeat(128));
  });
});

describe('form submissions', () => {
  let clock;
  beforeEach(() => { clock = f.fakeClock(T0); });
  afterEach(() => clock.restore());

  /* A page with forms (specs for f.form), the tracker booted with init opts. */
  function start(formSpecs, init, opts) {
    const win = f.makeWindow(Object.assign({ url: 'https://www.example.com/contact?ref=nav' }, opts || {}));
    const forms = formSpecs.map((s) => {
      const fm = f.form(s, win.document);
      win.document.forms.push(fm);
      return fm;
    });
    f.loader(win, ['init', Object.assign({ endpoint: EP }, init || {})]);
    f.tracker.boot(win);
    return { win, forms };
  }

  const contact = (extra) => Object.assign({
    attrs: { 'data-leadedge-form': 'contact' },
    action: 'https://www.example.com/thanks',
    fields: [f.field({ name: 'email', type: 'email', value: 'ada@example.com' }),
      f.field({ name: 'pw', type: 'password', value: 'x' }),
      f.field({ name: 'message', type: 'textarea', value: 'Hi\nthere' })],
  }, extra || {});

  const submit = (win, fm) => f.fire(win.document, 'submit', { target: fm });

  it('a data-leadedge-form form: one beacon to /f with the control and the form fields', () => {
    const { win, forms: [fm] } = start([contact()]);
    clock.tick(1000);
    f.fire(win.document, 'focusin', { target: fm.elements.email });
    clock.tick(4000);
    f.fire(win.document, 'focusin', { target: fm.elements.message }); /* not the first focus */
    clock.tick(2500);
    submit(win, fm);
    const b = f.beacons(win);
    assert.equal(b.length, 1);
    assert.equal(b[0].url, EP + '/f');
    assert.ok(b[0].raw instanceof URLSearchParams);
    assert.deepEqual(b[0].body, [
      ['_form', 'contact'],
      ['_url', 'https://www.example.com/contact?ref=nav'],
      ['_fill_ms', '6500'],
      ['email', 'ada@example.com'],
      ['message', 'Hi\nthere'],
      ['le_hp', ''],
    ]);
    assert.equal(win.images.length, 1); /* the page view only */
  });

  it('without a focus first, the fill time counts from the tracker start', () => {
    const { win, forms: [fm] } = start([contact()]);
    clock.tick(12345);
    submit(win, fm);
    assert.deepEqual(f.beacons(win)[0].body[2], ['_fill_ms', '12345']);
  });

  it('with consent: _consent and _vid', () => {
    const { win, forms: [fm] } = start([contact()]);
    win.leadedge('consent', true);
    submit(win, fm);
    const body = f.beacons(win)[0].body;
    assert.deepEqual(body.slice(3, 5), [['_consent', '1'], ['_vid', win.localStorage.getItem('le_vid')]]);
    assert.match(body[4][1], VID);
  });

  it('under GPC and DNT: _gpc and _dnt, no _consent or _vid', () => {
    const { win, forms: [fm] } = start([contact()], {}, { gpc: true, dnt: '1' });
    win.leadedge('consent', true);
    submit(win, fm);
    const body = f.beacons(win)[0].body;
    assert.deepEqual(body.map((p) => p[0]), ['_form', '_url', '_fill_ms', '_gpc', '_dnt', 'email', 'message', 'le_hp']);
    assert.deepEqual(body[3], ['_gpc', '1']);
    assert.deepEqual(body[4], ['_dnt', '1']);
  });

  it('a form without the attribute is ignored', () => {
    const { win, forms: [fm] } = start([{ attrs: { id: 'search' }, fields: [f.field({ name: 'q', value: 'x' })] }]);
    f.fire(win.document, 'focusin', { target: fm.elements.q });
    submit(win, fm);
    submit(win, { target: null });
    f.fire(win.document, 'submit', { target: null });
    assert.equal(win.beacons.length, 0);
    assert.equal(win.fetches.length, 0);
    assert.equal(fm.elements.le_hp, undefined);
  });

  it('unless it matches init\'s forms selectors (a string or a list; a bad one is skipped)', () => {
    let { win, forms } = start([
      { attrs: { id: 'signup' }, fields: [f.field({ name: 'email', value: 'a@b.c' })] },
      { attrs: { class: 'lead wide' }, fields: [f.field({ name: 'email', value: 'd@e.f' })] },
      { attrs: { id: 'search' }, fields: [f.field({ name: 'q', value: 'x' })] },
    ], { forms: [':::bad', '#signup', 'form.lead'] });
    for (const fm of forms) submit(win, fm);
    let b = f.beacons(win);
    assert.equal(b.length, 2);
    assert.deepEqual(b.map((x) => x.body[0]), [['_form', 'signup'], ['_form', 'form']]);
    assert.deepEqual(b[1].body.slice(3), [['email', 'd@e.f'], ['le_hp', '']]);
    assert.equal(forms[2].elements.le_hp, undefined);

    ({ win, forms } = start([{ attrs: { name: 'newsletter' }, fields: [] }], { forms: '[name=newsletter]' }));
    submit(win, forms[0]);
    b = f.beacons(win);
    assert.equal(b.length, 1);
    assert.deepEqual(b[0].body[0], ['_form', 'newsletter']);
  });

  it('an identical second submission is not sent twice; a changed one is', () => {
    const { win, forms: [fm] } = start([contact()]);
    submit(win, fm);
    clock.tick(300);
    submit(win, fm); /* a double click: only the fill time differs */
    assert.equal(win.beacons.length, 1);
    fm.elements.message.value = 'Hi again';
    submit(win, fm);
    assert.equal(win.beacons.length, 2);
    assert.deepEqual(f.beacons(win)[1].body[4], ['message', 'Hi again']);
  });

  it('sendBeacon refusing: fetch with keepalive and the same body', () => {
    const { win, forms: [fm] } = start([contact()]);
    win.beaconResult = false;
    submit(win, fm);
    assert.equal(win.fetches.length, 1);
    const { url, init } = win.fetches[0];
    assert.equal(url, EP + '/f');
    assert.equal(init.method, 'POST');
    assert.equal(init.keepalive, true);
    assert.ok(init.body instanceof URLSearchParams);
    assert.equal(init.body.get('email'), 'ada@example.com');
  });

  it('a form posting to <endpoint>/f gets hidden inputs instead of a beacon', () => {
    const { win, forms: [fm] } = start([contact({ action: EP + '/f?next=%2Fthanks' })]);
    win.leadedge('consent', true);
    clock.tick(8000);
    submit(win, fm);
    assert.equal(win.beacons.length, 0);
    assert.equal(win.fetches.length, 0);
    const hidden = fm.elements.filter((e) => e.type === 'hidden');
    assert.deepEqual(hidden.map((e) => [e.name, e.value]), [
      ['_form', 'contact'],
      ['_url', 'https://www.example.com/contact?ref=nav'],
      ['_fill_ms', '8000'],
      ['_consent', '1'],
      ['_vid', win.localStorage.getItem('le_vid')],
    ]);
    /* submitted again (validation failed the first time): the same inputs, updated */
    clock.tick(1000);
    submit(win, fm);
    assert.equal(fm.elements.filter((e) => e.type === 'hidden').length, 5);
    assert.equal(fm.elements._fill_ms.value, '9000');
  });

  it('a form posting elsewhere on a host that is also the endpoint still gets a beacon', () => {
    /* leadedge served from the site's own origin: /feedback and /free-trial are not /f */
    const { win, forms } = start([
      contact({ action: 'https://www.example.com/feedback' }),
      contact({ attrs: { 'data-leadedge-form': 'trial' }, action: 'https://www.example.com/free-trial' }),
      contact({ attrs: { 'data-leadedge-form': 'own' }, action: 'https://www.example.com/f#top' }),
    ], { endpoint: 'https://www.example.com' });
    for (const fm of forms) submit(win, fm);
    const b = f.beacons(win);
    assert.deepEqual(b.map((x) => [x.url, x.body[0][1]]),
      [['https://www.example.com/f', 'contact'], ['https://www.example.com/f', 'trial']]);
    assert.equal(forms[0].elements._form, undefined);
    assert.equal(forms[2].elements._form.value, 'own');
  });

  it('the honeypot: appended to tracked forms at init, its value goes with the submission', () => {
    const { win, forms: [fm, other] } = start([contact(), { attrs: { id: 'search' }, fields: [] }]);
    const hp = fm.elements.le_hp;
    assert.ok(hp, 'honeypot appended');
    assert.equal(hp.tagName, 'INPUT');
    assert.equal(hp.type, 'text');
    assert.equal(hp.tabIndex, -1);
    assert.equal(hp.autocomplete, 'off');
    assert.equal(hp.getAttribute('aria-hidden'), 'true');
    assert.match(hp.style.cssText, /left:-9999px/);
    assert.equal(fm.elements.filter((e) => e.name === 'le_hp').length, 1);
    assert.equal(other.elements.le_hp, undefined);
    hp.value = 'http://spam.example';
    submit(win, fm);
    assert.deepEqual(f.beacons(win)[0].body.slice(-1), [['le_hp', 'http://spam.example']]);
    /* a focus does not add a second one */
    f.fire(win.document, 'focusin', { target: fm.elements.email });
    assert.equal(fm.elements.filter((e) => e.name === 'le_hp').length, 1);
  });

  it('honeypot: a custom name; false: none, not even on focus', () => {
    let { win, forms: [fm] } = start([contact()], { honeypot: 'website' });
    assert.ok(fm.elements.website);
    assert.equal(fm.elements.le_hp, undefined);
    ({ win, forms: [fm] } = start([contact()], { honeypot: false }));
    f.fire(win.document, 'focusin', { target: fm.elements.email });
    submit(win, fm);
    assert.equal(fm.elements.length, 3);
    assert.deepEqual(f.beacons(win)[0].body.map((p) => p[0]), ['_form', '_url', '_fill_ms', 'email', 'message']);
  });

  it('a page still loading: the honeypot goes in on DOMContentLoaded', () => {
    const { win, forms: [fm] } = start([contact()], {}, { readyState: 'loading' });
    assert.equal(fm.elements.le_hp, undefined);
    win.document.readyState = 'interactive';
    f.fire(win.document, 'DOMContentLoaded');
    assert.ok(fm.elements.le_hp);
  });

  it('a form added later gets its honeypot on the first focus', () => {
    const { win } = start([]);
    const fm = f.form(contact(), win.document);
    win.document.forms.push(fm);
    clock.tick(2000);
    f.fire(win.document, 'focusin', { target: fm.elements.email });
    assert.ok(fm.elements.le_hp);
    clock.tick(700);
    submit(win, fm);
    assert.deepEqual(f.beacons(win)[0].body[2], ['_fill_ms', '700']);
  });
});
