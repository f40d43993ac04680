// Decision: its fields, the reasons and contributions read on request, and
// its lifetime (it outlives its engine; close() frees it early).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const {beckon, T0, SEC, stuck} = require('./helpers');
const {Engine, Decision} = beckon;

const small = {maxSessions: 100, shards: 1};

test('a wait carries its recheck time, reasons and contributions', () => {
  const e = new Engine(small);
  e.agents(T0, 3);
  e.pageView(T0, 'v', '/help/returns');
  const d = e.decide('v', T0 + 10 * SEC);
  assert.ok(d instanceof Decision);
  assert.equal(d.action, 'wait');
  assert.equal(d.reason, 'dwell');
  assert.equal(d.offer, false);
  assert.equal(d.wouldOffer, false);
  assert.equal(typeof d.probability, 'number');
  assert.ok(d.probability >= 0 && d.probability <= 1);
  assert.ok(d.threshold > 0 && d.threshold < 1);
  assert.equal(typeof d.recheckAtMs, 'number');
  assert.ok(d.recheckAtMs > T0 + 10 * SEC);
  // A wait never offers; the default policy neither explores nor has an
  // uplift stage.
  assert.equal(d.offerProbability, 0);
  assert.equal(d.explored, false);
  assert.equal(d.uplift, null);
  const reasons = d.reasons();
  assert.ok(reasons.length >= 1);
  assert.match(reasons[0], /dwell/);
  const c = d.contributions();
  assert.ok(c.length > 5);
  for (const {feature, value, contribution} of c) {
    assert.equal(typeof feature, 'string');
    assert.equal(typeof value, 'number');
    assert.equal(typeof contribution, 'number');
  }
  assert.ok(c.some((x) => x.feature === 'group_help_rate'));
  // The same answers again (read once, kept).
  assert.deepEqual(d.reasons(), reasons);
  assert.deepEqual(d.contributions(), c);
  // Callers get copies.
  d.reasons().push('x');
  assert.deepEqual(d.reasons(), reasons);
  e.close();
});

test('the contributions add up to the probability\'s log-odds', () => {
  const e = new Engine(small);
  const {decision} = stuck(e, 'anna');
  const c = decision.contributions();
  const sum = c.reduce((acc, x) => acc + x.contribution, 0);
  // p = sigmoid(bias + sum): the bias is what is left.
  const logit = Math.log(decision.probability / (1 - decision.probability));
  assert.ok(Number.isFinite(logit - sum));
  assert.match(decision.reasons()[0], /probability 0\.\d+ reached threshold/);
  e.close();
});

test('decisions are independent of later decisions', () => {
  const e = new Engine(small);
  e.agents(T0, 3);
  e.pageView(T0, 'a', '/help/returns');
  e.pageView(T0, 'b', '/c/shoes');
  const da = e.decide('a', T0 + 10 * SEC);
  const db = e.decide('b', T0 + 10 * SEC);
  // da's reasons were not read before db was made: still its own.
  assert.match(da.reasons().join(' '), /help/);
  assert.doesNotMatch(db.reasons().join(' '), /\/help/);
  e.close();
});

test('a decision outlives its engine', () => {
  const e = new Engine(small);
  const {decision} = stuck(e, 'anna');
  e.close();
  assert.equal(decision.action, 'offer');
  assert.ok(decision.reasons().length > 0);
  assert.ok(decision.contributions().length > 0);
});

test('close() frees a decision; what was read stays readable', () => {
  const e = new Engine(small);
  e.pageView(T0, 'v', '/');
  const d = e.decide('v', T0 + SEC);
  const reasons = d.reasons();
  d.close();
  d.close();
  assert.deepEqual(d.reasons(), reasons);
  assert.throws(() => d.contributions(), beckon.FailedPreconditionError);
  assert.equal(d.action, 'wait');
  const d2 = e.decide('v', T0 + SEC);
  d2.close();
  assert.throws(() => d2.reasons(), {code: 'FAILED_PRECONDITION'});
  e.close();
});

test('toJSON has the scalar fields and the reasons', () => {
  const e = new Engine(small);
  const {decision} = stuck(e, 'anna');
  const j = JSON.parse(JSON.stringify(decision));
  assert.equal(j.action, 'offer');
  assert.equal(j.reason, 'score');
  assert.equal(j.recheckAtMs, null);
  assert.equal(j.wouldOffer, false);
  // 5% of visitors are held out: the offer's chance, as logged.
  assert.ok(Math.abs(j.offerProbability - 0.95) < 1e-12);
  assert.equal(j.explored, false);
  assert.equal(j.uplift, null);
  assert.deepEqual(j.reasons, decision.reasons());
  assert.throws(() => new Decision(), TypeError);
  e.close();
});

test('exploration and uplift reach the decision', () => {
  // The default policy with model.exploration and model.uplift added.
  const withModel = (extra) =>
      beckon.Policy.fromText(beckon.Policy.default().toText().replace(
          '\nmodel {\n', `\nmodel {\n${extra}\n`));
  const e = new Engine({
    ...small,
    policy: withModel('exploration { share: 0.999 floor: 0.0001 salt: "c" }'),
  });
  e.agents(T0, 5);
  e.pageView(T0, 'erik', '/p/1');
  const d = e.decide('erik', T0 + 300 * SEC);
  assert.ok(d.probability < d.threshold);
  assert.equal(d.action, 'offer');
  assert.equal(d.explored, true);
  assert.ok(Math.abs(d.offerProbability - 0.999 * 0.95) < 1e-12);
  assert.equal(d.uplift, null);
  e.close();
  const u = new Engine({
    ...small,
    policy:
        withModel('uplift { bias: 0.2 min_uplift: -0.5 outcome: "purchase" }'),
  });
  const {decision} = stuck(u, 'ulla');
  assert.equal(decision.action, 'offer');
  assert.equal(decision.explored, false);
  assert.ok(Math.abs(decision.uplift - (2 / (1 + Math.exp(-0.2)) - 1)) < 1e-12);
  u.close();
});

test('Symbol.dispose closes engines, policies and decisions', () => {
  if (typeof Symbol.dispose !== 'symbol') return;
  const e = new Engine(small);
  const d = e.decide('v', T0);
  d[Symbol.dispose]();
  assert.throws(() => d.reasons(), {code: 'FAILED_PRECONDITION'});
  e[Symbol.dispose]();
  assert.ok(e.closed);
  const p = beckon.Policy.default();
  p[Symbol.dispose]();
  assert.ok(p.closed);
});
