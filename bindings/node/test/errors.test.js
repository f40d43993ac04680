// The error of every rejected call: bad timestamps, bad ids, bad values,
// use after close; each a BeckonError with the C ABI's status code, and
// a rejected call changes nothing.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const {beckon, T0, SEC} = require('./helpers');
const {Engine, BeckonError} = beckon;

const small = {maxSessions: 100, shards: 1};

test('one error class per status code, all BeckonErrors', () => {
  const names = Object.keys(beckon.Status).filter((n) => n !== 'OK');
  assert.equal(names.length, 16);
  for (const code of names) {
    const className = code.toLowerCase().replace(
        /(^|_)(\w)/g, (m, s, c) => c.toUpperCase()) + 'Error';
    const cls = beckon[className];
    assert.equal(typeof cls, 'function', className);
    const e = new cls('m');
    assert.ok(e instanceof BeckonError && e instanceof Error);
    assert.equal(e.code, code);
    assert.equal(e.status, beckon.Status[code]);
    assert.equal(e.name, className);
    assert.equal(e.message, 'm');
  }
});

test('bad timestamps are InvalidArgumentError and change nothing', () => {
  const e = new Engine(small);
  e.pageView(T0, 'v', '/');
  const bad = [
    [1.5, /integer/], [NaN, /integer/], [Infinity, /integer/],
    ['1700000000000', /number or a bigint/], [undefined, /number or a bigint/],
    [2 ** 60, /./],  // Beyond the year 9999.
    [-1, /./], [2n ** 64n, /64-bit/],
    [T0 - SEC, /before|backwards/],  // Before the visitor's last event.
  ];
  for (const [ts, message] of bad) {
    assert.throws(() => e.pageView(ts, 'v', '/p'),
                  (err) => err instanceof beckon.InvalidArgumentError &&
                           message.test(err.message),
                  `pageView at ${String(ts)}`);
    assert.throws(() => e.decide('v', ts), {code: 'INVALID_ARGUMENT'},
                  `decide at ${String(ts)}`);
  }
  assert.throws(() => e.expire(-5), {code: 'INVALID_ARGUMENT'});
  assert.throws(() => e.agents(1.25, 2), {code: 'INVALID_ARGUMENT'});
  const s = e.stats();
  assert.equal(s.eventsObserved, 1);
  assert.equal(s.liveSessions, 1);
  // The late decline is the exception: accepted.
  e.offerDeclined(T0 - SEC, 'v', '/');
  assert.equal(e.decide('v', T0).reason, 'declined');
  e.close();
});

test('bad visitor ids are InvalidArgumentError', () => {
  const e = new Engine(small);
  const bad = ['', 'x'.repeat(129), 'a\0b', 42, null, undefined, {}];
  for (const id of bad) {
    assert.throws(() => e.pageView(T0, id, '/'), {code: 'INVALID_ARGUMENT'},
                  `visitor ${JSON.stringify(id)}`);
    assert.throws(() => e.decide(id, T0), {code: 'INVALID_ARGUMENT'});
    assert.throws(() => e.offerDeclined(T0, id, '/'),
                  {code: 'INVALID_ARGUMENT'});
  }
  e.pageView(T0, 'x'.repeat(128), '/');  // 128 bytes is the longest.
  e.pageView(T0, 'ü'.repeat(64), '/');   // 128 bytes of UTF-8.
  assert.throws(() => e.pageView(T0, 'ü'.repeat(65), '/'),
                {code: 'INVALID_ARGUMENT'});
  assert.equal(e.stats().eventsObserved, 2);
  e.close();
});

test('bad values are InvalidArgumentError', () => {
  const e = new Engine(small);
  assert.throws(() => e.search(T0, 'v', '/s', -1), {code: 'INVALID_ARGUMENT'});
  assert.throws(() => e.search(T0, 'v', '/s', 0.5), {code: 'INVALID_ARGUMENT'});
  assert.throws(() => e.cart(T0, 'v', '/', -3), {code: 'INVALID_ARGUMENT'});
  assert.throws(() => e.cart(T0, 'v', '/', NaN), {code: 'INVALID_ARGUMENT'});
  assert.throws(() => e.cart(T0, 'v', '/', '5'), {code: 'INVALID_ARGUMENT'});
  assert.throws(() => e.purchase(T0, 'v', '/', 1e15),
                {code: 'INVALID_ARGUMENT'});
  assert.throws(() => e.purchase(T0, 'v', '/', Infinity),
                {code: 'INVALID_ARGUMENT'});
  assert.throws(() => e.agents(T0, -1), {code: 'INVALID_ARGUMENT'});
  assert.throws(() => e.agents(T0, 1000001), {code: 'INVALID_ARGUMENT'});
  assert.throws(() => e.offerShown(T0, 'v', '/', 'fax'),
                {code: 'INVALID_ARGUMENT', message: /channel/});
  assert.throws(() => e.offerShown(T0, 'v', '/', 9),
                {code: 'INVALID_ARGUMENT'});
  assert.throws(() => e.pageView(T0, 'v', 7), {code: 'INVALID_ARGUMENT'});
  assert.throws(() => e.pageView(T0, 'v', '/', 7), {code: 'INVALID_ARGUMENT'});
  const s = e.stats();
  assert.equal(s.eventsObserved, 0);
  assert.equal(s.liveSessions, 0);
  e.close();
});

test('the library\'s messages come through (and are freed)', () => {
  const e = new Engine(small);
  e.pageView(T0 + SEC, 'v', '/');
  // Many failures: each message is read and released with beckon_free.
  for (let i = 0; i < 10000; ++i) {
    try {
      e.pageView(T0, 'v', '/');
      assert.fail('accepted');
    } catch (err) {
      assert.ok(err instanceof beckon.InvalidArgumentError);
      assert.match(err.message, /1700000000000/);
    }
  }
  assert.equal(e.stats().eventsRejected, 10000);
  e.close();
});

test('every call on a closed engine is FailedPreconditionError', () => {
  const e = new Engine(small);
  e.close();
  assert.ok(e.closed);
  e.close();  // Twice is fine.
  const calls = [
    () => e.pageView(T0, 'v', '/'), () => e.search(T0, 'v', '/', 0),
    () => e.cart(T0, 'v', '/', 1), () => e.purchase(T0, 'v', '/', 1),
    () => e.helpContact(T0, 'v', '/'), () => e.offerShown(T0, 'v', '/'),
    () => e.offerAccepted(T0, 'v', '/'), () => e.offerDeclined(T0, 'v', '/'),
    () => e.offerIgnored(T0, 'v', '/'), () => e.agents(T0, 1),
    () => e.observe({type: 'page_view', tsMs: T0, visitor: 'v'}),
    () => e.decide('v', T0), () => e.expire(T0), () => e.snapshot(),
    () => e.restore(Buffer.alloc(0)), () => e.snapshotToFile('/tmp/x'),
    () => e.restoreFromFile('/tmp/x'), () => e.stats(), () => e.policy(),
  ];
  for (const call of calls) {
    assert.throws(call, (err) => err instanceof beckon.FailedPreconditionError &&
                                 err.code === 'FAILED_PRECONDITION' &&
                                 /closed/.test(err.message),
                  call.toString());
  }
});
