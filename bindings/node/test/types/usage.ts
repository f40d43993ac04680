// A TypeScript user of the package: test/types.test.js type-checks it
// against index.d.ts with tsc --strict (nothing runs it).
import * as beckon from '../..';
import {Engine, Policy, Decision, BeckonError, InvalidArgumentError} from '../..';

const info: beckon.LoadedLibrary = beckon.load(process.env.BECKON_LIBRARY);
const v: string = beckon.version() + info.path;
const abi: number = beckon.abiVersion();

const policy: Policy = Policy.fromFile('shop.policy');
const name: string = policy.name;
const bytes: Buffer = policy.toBytes();
Policy.fromBytes(bytes).close();
Policy.fromText(policy.toText()).close();
policy.save('/tmp/shop.policy');

const options: beckon.EngineOptions = {
  policy,
  maxSessions: 16,
  shards: 1,
  store: {redis: 'redis://127.0.0.1:6379/0?prefix=shop:'},
  visitorKey: [1n, 2],
  maxUrlBytes: 4096,
};
const engine = new Engine(options);
const perProcess = new Engine({maxSessions: 100_000, shards: 16});
const now = Date.now();
engine.agents(now, 3);
engine.pageView(now, 'v1', '/checkout', 'https://www.google.com/');
engine.pageView(BigInt(now), 'v1', '/checkout', null);
engine.search(now, 'v1', '/search?q=x', 0);
engine.cart(now, 'v1', '/p/1', 19.9);
engine.purchase(now, 'v1', '/done', 19.9);
engine.helpContact(now, 'v1', '/help');
engine.offerShown(now, 'v1', '/p/1', 'chat');
engine.offerAccepted(now, 'v1', '/p/1', 2);
engine.offerDeclined(now, 'v1', '/p/1');
engine.offerIgnored(now, 'v1', '/p/1', 'email');
engine.observe({type: 'page_view', tsMs: now, visitor: 'v1', page: '/'});
engine.observe({type: 'agents', tsMs: now, freeAgents: 2});
engine.observe({type: 'offer_declined', tsMs: now, visitor: 'v1', channel: 'call'});

const d: Decision = engine.decide('v1', now);
const action: beckon.Action = d.action;
const reason: beckon.Reason = d.reason;
if (d.offer && action === 'offer' && reason === 'score') {
  const p: number = d.probability - d.threshold;
  const recheck: number | null = d.recheckAtMs;
  const would: boolean = d.wouldOffer;
  const propensity: number = d.offerProbability;
  const explored: boolean = d.explored;
  const uplift: number|null = d.uplift;
  void[p, recheck, would, propensity, explored, uplift];
}
const reasons: string[] = d.reasons();
for (const c of d.contributions()) {
  const x: number = c.value * c.contribution;
  const f: string = c.feature;
  void [x, f];
}
const json: beckon.DecisionJSON = d.toJSON();
d.close();

const snap: Buffer = engine.snapshot();
perProcess.restore(snap);
engine.snapshotToFile('/tmp/s');
perProcess.restoreFromFile('/tmp/s');
engine.expire(now);
const s: beckon.Stats = engine.stats();
const offers: number = s.decisionsByAction.offer + s.decisionsByReason.declined +
                       s.storeRoundTrips;
const redis: boolean = engine.usesRedis && !engine.closed;

try {
  engine.pageView(now, '', '/');
} catch (e) {
  if (e instanceof InvalidArgumentError) {
    const code: 'INVALID_ARGUMENT' = e.code;
    void code;
  } else if (e instanceof beckon.UnavailableError) {
    // Report the event again later.
  } else if (e instanceof BeckonError) {
    const code: beckon.StatusCode = e.code;
    const status: number = e.status + beckon.Status[code];
    void status;
  }
}
engine.close();
perProcess[Symbol.dispose]();

// Errors the declarations must catch.
// @ts-expect-error: the store is 'memory' or {redis}.
new Engine({store: 'redis'});
// @ts-expect-error: unknown option.
new Engine({maxSesions: 1});
// @ts-expect-error: visitor ids are strings.
engine.decide(42, now);
// @ts-expect-error: an action is one of three.
const bad: beckon.Action = 'maybe';
// @ts-expect-error: policies come from the static constructors.
new Policy();
// @ts-expect-error: decisions come from decide().
new Decision();

void [v, abi, name, reasons, json, offers, redis, bad, beckon.CHANNELS,
      beckon.EVENT_TYPES, beckon.ACTIONS, beckon.REASONS, beckon.libraryPath];
