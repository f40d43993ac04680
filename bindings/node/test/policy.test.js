// Policy: the built-in default, bytes, text, files, and invalid policies.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {beckon, tempDir, editedPolicy, stuck} = require('./helpers');
const {Policy, Engine} = beckon;

test('the default policy has a name, bytes and text', () => {
  const p = Policy.default();
  assert.equal(p.name, 'beckon-default');
  const bytes = p.toBytes();
  assert.ok(Buffer.isBuffer(bytes) && bytes.length > 100);
  assert.match(p.toText(), /^format_version: 1\nname: "beckon-default"/);
  p.close();
  assert.ok(p.closed);
  p.close();  // Twice is fine.
});

test('bytes, text and files round-trip', () => {
  const p = Policy.default();
  const fromBytes = Policy.fromBytes(p.toBytes());
  assert.deepEqual(fromBytes.toBytes(), p.toBytes());
  const fromText = Policy.fromText(p.toText());
  assert.deepEqual(fromText.toBytes(), p.toBytes());
  const fromTextBytes = Policy.fromText(Buffer.from(p.toText()));
  assert.equal(fromTextBytes.name, 'beckon-default');
  const fromUint8 = Policy.fromBytes(new Uint8Array(p.toBytes()));
  assert.equal(fromUint8.name, 'beckon-default');

  const dir = tempDir();
  const file = path.join(dir, 'shop.policy');
  p.save(file);
  assert.deepEqual(fs.readFileSync(file), p.toBytes());
  assert.deepEqual(Policy.fromFile(file).toBytes(), p.toBytes());
  const textFile = path.join(dir, 'shop.policy.txt');
  fs.writeFileSync(textFile, p.toText());
  assert.equal(Policy.fromFile(textFile).name, 'beckon-default');
});

test('an engine decides by the policy it is given', () => {
  const p = editedPolicy((t) => t.replace('name: "beckon-default"',
                                          'name: "shop-1"'));
  assert.equal(p.name, 'shop-1');
  const e = new Engine({policy: p, maxSessions: 100, shards: 1});
  p.close();  // The engine keeps its own copy.
  const ep = e.policy();
  assert.equal(ep.name, 'shop-1');
  ep.close();
  e.close();

  // Bytes and files are policies too.
  const bytes = Policy.default().toBytes();
  const e2 = new Engine({policy: bytes});
  assert.equal(e2.policy().name, 'beckon-default');
  e2.close();
  const file = path.join(tempDir(), 'p.policy');
  fs.writeFileSync(file, bytes);
  const e3 = new Engine({policyFile: file, maxSessions: 10, shards: 1});
  assert.equal(stuck(e3, 'v').decision.action, 'offer');
  e3.close();
});

test('the decision threshold of the policy is the decision\'s', () => {
  // A policy that never offers: the threshold above every probability.
  const p = editedPolicy((t) => t
      .replace(/decision_threshold: [0-9.e-]+/, 'decision_threshold: 0.99')
      .replace(/threshold_at_one_agent: [0-9.e-]+/,
               'threshold_at_one_agent: 0.995'));
  const e = new Engine({policy: p});
  const {decision} = stuck(e, 'v');
  assert.notEqual(decision.action, 'offer');
  assert.ok(decision.threshold >= 0.99, `threshold ${decision.threshold}`);
  e.close();
});

test('invalid policies are InvalidArgumentError naming the problem', () => {
  assert.throws(() => Policy.fromBytes(Buffer.from('not a policy \xff\x01')),
                (e) => e instanceof beckon.InvalidArgumentError &&
                       e instanceof beckon.BeckonError &&
                       e.code === 'INVALID_ARGUMENT' && e.status === 3 &&
                       e.message.length > 0);
  assert.throws(() => Policy.fromText('format_version: 1\nnonsense {'),
                {code: 'INVALID_ARGUMENT'});
  // Valid syntax, invalid value: the message names the field.
  const bad = Policy.default().toText().replace(/min_gap_s: \d+/,
                                                'min_gap_s: -5');
  assert.throws(() => Policy.fromText(bad),
                {code: 'INVALID_ARGUMENT', message: /min_gap_s/});
  assert.throws(() => Policy.fromBytes('text is not bytes'),
                {code: 'INVALID_ARGUMENT', message: /fromText/});
  assert.throws(() => Policy.fromBytes(42), {code: 'INVALID_ARGUMENT'});
  assert.throws(() => new Engine({policy: Buffer.from([1, 2, 3])}),
                beckon.InvalidArgumentError);
  assert.throws(() => new Engine({policy: Policy.default(),
                                  policyFile: '/x'}),
                {code: 'INVALID_ARGUMENT', message: /not both/});
});

test('a missing policy file is NotFoundError', () => {
  assert.throws(() => Policy.fromFile('/nonexistent/shop.policy'),
                beckon.NotFoundError);
  assert.throws(() => new Engine({policyFile: '/nonexistent/shop.policy'}),
                {code: 'NOT_FOUND'});
  assert.throws(() => Policy.default().save('/nonexistent/dir/p.policy'),
                {code: 'PERMISSION_DENIED'});
});

test('a closed policy cannot be used; policies are not constructed', () => {
  const p = Policy.default();
  p.close();
  assert.throws(() => p.toBytes(), beckon.FailedPreconditionError);
  assert.throws(() => p.name, {code: 'FAILED_PRECONDITION'});
  assert.throws(() => new Engine({policy: p}), {code: 'FAILED_PRECONDITION'});
  assert.throws(() => new Policy(), TypeError);
});
