// index.d.ts: tsc --strict type-checks a TypeScript user of the package
// (test/types/usage.ts) when typescript is installed (a devDependency,
// from npm; skipped, saying so, where it could not be installed), and the
// declared exports are exactly the module's. usage.ts also holds misuses
// under @ts-expect-error, which tsc reports if they type-check: the check
// is not vacuous.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const {spawnSync} = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const {beckon} = require('./helpers');

const pkg = path.join(__dirname, '..');

function tscPath() {
  try {
    return require.resolve('typescript/bin/tsc', {paths: [pkg]});
  } catch (e) {
    return null;
  }
}
const tsc = tscPath();
const noTsc = tsc === null &&
    'typescript is not installed in bindings/node/node_modules (a ' +
    'devDependency: scripts/setup-node.sh installs it where the npm ' +
    'registry is reachable)';

test('tsc --strict accepts test/types/usage.ts', {skip: noTsc,
                                                  timeout: 120000}, () => {
  const r = spawnSync(process.execPath, [
    tsc, '--noEmit', '--strict', '--target', 'es2020', '--module', 'commonjs',
    '--moduleResolution', 'node', '--types', 'node', '--typeRoots',
    path.join(pkg, 'node_modules', '@types'),
    path.join(__dirname, 'types', 'usage.ts'),
  ], {cwd: pkg, encoding: 'utf8'});
  assert.equal(r.status, 0, `tsc said:\n${r.stdout}${r.stderr}`);
});

test('index.d.ts declares exactly the module\'s exports', () => {
  const dts = fs.readFileSync(path.join(pkg, 'index.d.ts'), 'utf8');
  const declared = new Set();
  for (const m of dts.matchAll(
      /^export (?:declare )?(?:class|function|const) (\w+)/gm)) {
    declared.add(m[1]);
  }
  const actual = new Set(Object.keys(beckon));
  assert.deepEqual([...declared].sort(), [...actual].sort());
  // Every class's public methods are declared on it.
  for (const cls of ['Engine', 'Policy', 'Decision']) {
    const body = dts.slice(dts.indexOf(`export class ${cls} `));
    const end = body.indexOf('\n}\n');
    const decl = body.slice(0, end);
    const proto = Object.getOwnPropertyNames(beckon[cls].prototype)
        .filter((n) => n !== 'constructor' && !n.startsWith('_'));
    const statics = Object.getOwnPropertyNames(beckon[cls])
        .filter((n) => !['length', 'name', 'prototype'].includes(n) &&
                       !n.startsWith('_'));
    for (const name of [...proto, ...statics]) {
      assert.match(decl, new RegExp(`\\b${name}\\b`),
                   `${cls}.${name} is not declared in index.d.ts`);
    }
  }
});
