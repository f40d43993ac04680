// Shared by the tests (not itself a test file: package.json runs
// test/*.test.js). Loads the library the harness names in $BECKON_LIBRARY
// (ctest passes the build's libbeckon_c), else as the package finds it.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const beckon = require('..');
beckon.load(process.env.BECKON_LIBRARY || undefined);

const T0 = 1700000000000;  // A Tuesday in November 2023.
const SEC = 1000;
const MIN = 60 * SEC;
const DAY = 86400 * SEC;

// Plays the example's visitor who gets stuck looking for how to return an
// item, from t0, and follows the engine's recheck timer; returns the first
// decision that is not a wait (an offer with the default policy and free
// agents) and its time.
function stuck(engine, visitor, t0 = T0) {
  engine.agents(t0, 3);
  engine.pageView(t0, visitor, '/', 'https://www.google.com/search?q=returns');
  engine.pageView(t0 + 20 * SEC, visitor, '/p/4711');
  engine.search(t0 + 70 * SEC, visitor, '/search?q=return+label', 0);
  engine.search(t0 + 85 * SEC, visitor, '/search?q=returns', 0);
  engine.pageView(t0 + 100 * SEC, visitor, '/help/returns');
  let at = t0 + 110 * SEC;
  let d = engine.decide(visitor, at);
  while (d.action === 'wait' && d.recheckAtMs !== null) {
    at = d.recheckAtMs;
    d = engine.decide(visitor, at);
  }
  return {decision: d, at};
}

// A fresh temporary directory, removed when the process exits.
function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'beckon-node-'));
  process.on('exit', () => fs.rmSync(dir, {recursive: true, force: true}));
  return dir;
}

// The policy text of the default policy with `edit` applied to it.
function editedPolicy(edit) {
  const p = beckon.Policy.default();
  try {
    return beckon.Policy.fromText(edit(p.toText()));
  } finally {
    p.close();
  }
}

// The private redis-server of tests/redis/with_redis.sh, as a URL with a
// key prefix of this process and `name`; null when there is none.
function redisUrl(name) {
  const base = process.env.BECKON_TEST_REDIS_URL;
  if (!base) return null;
  const sep = base.includes('?') ? '&' : '?';
  return `${base}${sep}prefix=nodetest:${process.pid}:${name}:`;
}

const REDIS_SKIP =
    'no Redis: BECKON_TEST_REDIS_URL is not set (ctest runs this file as ' +
    'node_package_redis under tests/redis/with_redis.sh, which starts a ' +
    'private redis-server; by hand: tests/redis/with_redis.sh npm test ' +
    '--prefix bindings/node)';

module.exports = {beckon, T0, SEC, MIN, DAY, stuck, tempDir, editedPolicy,
                  redisUrl, REDIS_SKIP};
