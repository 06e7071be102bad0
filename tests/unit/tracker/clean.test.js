'use strict';
/* clean() and utf8len(): values the server accepts. */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { clean, utf8len } = require('./fakes').tracker;

const HIGH = '\ud83d', LOW = '\ude00', EMOJI = HIGH + LOW; /* U+1F600 */

describe('clean', () => {
  it('null and undefined are empty, other values strings', () => {
    assert.equal(clean(null), '');
    assert.equal(clean(undefined), '');
    assert.equal(clean(0), '0');
    assert.equal(clean(false), 'false');
    assert.equal(clean('plain text'), 'plain text');
  });

  it('control characters become spaces; TAB, CR and LF are kept only with keepLines', () => {
    const s = 'a\x00b\x01c\x08d\te\nf\x0bg\x0ch\ri\x1fj\x7fk\x80l';
    assert.equal(clean(s), 'a b c d e f g h i j k\x80l');
    assert.equal(clean(s, true), 'a b c d\te\nf g h\ri j k\x80l');
    assert.equal(clean('line 1\r\nline 2', true), 'line 1\r\nline 2');
    assert.equal(clean('line 1\r\nline 2'), 'line 1  line 2');
  });

  it('lone surrogates become U+FFFD; pairs stay', () => {
    const cases = [
      [HIGH, '\ufffd'],
      [LOW, '\ufffd'],
      ['a' + HIGH, 'a\ufffd'],
      [HIGH + 'a', '\ufffda'],
      ['a' + LOW + 'b', 'a\ufffdb'],
      [LOW + HIGH, '\ufffd\ufffd'],
      [HIGH + HIGH + LOW, '\ufffd' + EMOJI],
      [HIGH + LOW + LOW, EMOJI + '\ufffd'],
      [LOW + LOW, '\ufffd\ufffd'],
      ['a' + LOW + LOW + 'b', 'a\ufffd\ufffdb'],
      [LOW + LOW + LOW, '\ufffd\ufffd\ufffd'],
      [HIGH + HIGH, '\ufffd\ufffd'],
      [EMOJI + EMOJI, EMOJI + EMOJI],
      ['x' + EMOJI + 'y', 'x' + EMOJI + 'y'],
    ];
    for (const [input, want] of cases) {
      const got = clean(input);
      assert.equal(got, want, JSON.stringify(input));
      assert.doesNotThrow(() => encodeURIComponent(got), JSON.stringify(input));
      assert.equal(Buffer.from(got, 'utf8').toString('utf8'), got);
    }
  });

  it('no input leaves a lone surrogate behind (encodeURIComponent never throws)', () => {
    const units = ['a', HIGH, LOW, '\ud800', '\udfff', 'é', '\n'];
    /* every string of up to 4 of these units */
    let all = [''];
    for (let n = 0; n < 4; n++) all = all.flatMap((s) => units.map((u) => s + u));
    for (const s of all) {
      const got = clean(s);
      assert.doesNotThrow(() => encodeURIComponent(got), JSON.stringify(s));
    }
  });

  it('long values are cut to at most 2000 bytes of UTF-8', () => {
    for (const [unit, count] of [['a', 5000], ['é', 3000], ['€', 3000], [EMOJI, 1500], ['aé€' + EMOJI, 800]]) {
      const s = clean(unit.repeat(count));
      assert.ok(Buffer.byteLength(s) <= 2000, unit + ': ' + Buffer.byteLength(s));
      assert.ok(Buffer.byteLength(s) >= 1500, unit + ': cut too far, ' + Buffer.byteLength(s));
      assert.ok((unit.repeat(count)).startsWith(s), unit);
      assert.doesNotThrow(() => encodeURIComponent(s));
    }
    assert.equal(clean('a'.repeat(2000)), 'a'.repeat(2000));
    assert.equal(clean('a'.repeat(2001)).length, 2000);
    /* a short multi-byte value under the limit is whole */
    assert.equal(clean('é'.repeat(999)), 'é'.repeat(999));
  });

  it('a cut never splits a surrogate pair', () => {
    for (let pre = 0; pre < 8; pre++) {
      const s = clean('a'.repeat(pre) + EMOJI.repeat(1000));
      assert.ok(Buffer.byteLength(s) <= 2000);
      assert.ok(!/[\ud800-\udbff]$/.test(s), 'pre ' + pre);
      assert.doesNotThrow(() => encodeURIComponent(s));
    }
  });

  it('an explicit max (formId uses 128)', () => {
    assert.equal(clean('x'.repeat(300), false, 128), 'x'.repeat(128));
    const s = clean('€'.repeat(100), false, 128);
    assert.ok(Buffer.byteLength(s) <= 128);
    assert.ok(s.length > 30);
  });
});

describe('utf8len', () => {
  it('matches Buffer.byteLength', () => {
    const samples = ['', 'a', 'ascii only', 'é', 'aé€', '€uro', EMOJI, 'x' + EMOJI + 'y',
      '日本語テキスト', 'mixed: a é € 😀 日 \u07ff \u0800 \uffff \u{10ffff}', '\u007f\u0080', EMOJI.repeat(10)];
    for (const s of samples) assert.equal(utf8len(s), Buffer.byteLength(s), JSON.stringify(s));
  });
});
