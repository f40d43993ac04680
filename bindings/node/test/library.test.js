// Loading libbeckon_c: versions, names, and the errors of a bad library.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const {execFileSync, spawnSync} = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const {beckon} = require('./helpers');

const root = path.resolve(__dirname, '..', '..', '..');

test('the library reports the version of include/beckon/version.h', () => {
  const header = fs.readFileSync(
      path.join(root, 'include', 'beckon', 'version.h'), 'utf8');
  const version = header.match(/BECKON_VERSION_STRING "([^"]+)"/)[1];
  const abi = Number(header.match(/BECKON_ABI_VERSION (\d+)/)[1]);
  assert.equal(beckon.version(), version);
  assert.equal(beckon.abiVersion(), abi);
  const info = beckon.load();  // Loaded already: the same library.
  assert.equal(info.version, version);
  assert.equal(info.path, beckon.libraryPath());
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..',
                                                   'package.json')));
  assert.equal(pkg.version, version, 'package.json follows version.h');
});

test('actions, reasons, channels and event types are the C ABI\'s', () => {
  assert.deepEqual(beckon.ACTIONS, ['offer', 'wait', 'suppress']);
  assert.equal(beckon.REASONS.length, 14);
  assert.equal(beckon.REASONS[0], 'score');
  assert.equal(beckon.REASONS[4], 'declined');
  assert.equal(beckon.REASONS[12], 'store_unavailable');
  assert.equal(beckon.REASONS[13], 'offer_rate_cap');
  assert.deepEqual(beckon.CHANNELS,
                   ['unspecified', 'chat', 'call', 'email', 'form']);
  assert.equal(beckon.EVENT_TYPES.length, 10);
  assert.equal(beckon.Status.INVALID_ARGUMENT, 3);
  assert.equal(beckon.Status.UNAUTHENTICATED, 16);
});

test('a second, different library is refused', () => {
  assert.throws(() => beckon.load('/nonexistent/libbeckon_c.so'),
                {code: 'BECKON_ALREADY_LOADED'});
});

// In a process of its own: a library that cannot be found.
test('a library that cannot be loaded names what was tried', () => {
  const r = spawnSync(process.execPath, ['-e', `
    const beckon = require(${JSON.stringify(path.join(__dirname, '..'))});
    try { beckon.load('/nonexistent/libbeckon_c.so.0'); }
    catch (e) { console.log(e.code + ' ' + e.message); process.exit(3); }`],
                      {encoding: 'utf8'});
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stdout, /^BECKON_LIBRARY_NOT_FOUND .*\/nonexistent\/libbeckon_c\.so\.0/);
});

test('BECKON_LIBRARY chooses the library; the first use loads it', () => {
  const out = execFileSync(process.execPath, ['-e', `
    const beckon = require(${JSON.stringify(path.join(__dirname, '..'))});
    const e = new beckon.Engine({maxSessions: 10, shards: 1});
    console.log(beckon.libraryPath()); e.close();`],
                           {encoding: 'utf8',
                            env: {...process.env,
                                  BECKON_LIBRARY: beckon.libraryPath()}});
  assert.equal(out.trim(), beckon.libraryPath());
});
