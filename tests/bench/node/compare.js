// beckon through its C ABI (koffi) against the same offer rules written for
// json-rules-engine, on the same event log, in one Node.js process.
//
//   npm install --prefix tests/bench/node          # once (scripts/bench does)
//   node tests/bench/node/compare.js --lib build-bench/bindings/c/libbeckon_c.so \
//     --log build-bench/bench/log.csv [--rounds 3] [--json out.json]
//
// The workload, for both (as tests/bench/python_rules.py's): for every
// visitor event of the log, decide for that visitor at the event's time (the
// dwell of the page it is leaving), then observe the event; `agents` rows
// are observed only. Events per second count the log's rows.
//
// The rules host keeps per-visitor facts in a Map, updated on each event
// (sessions, page groups, counters, path rules, checkout stall, decline and
// ignore memory: docs/concepts.md sections 3 to 9 with the default policy of
// lib/default_policy.cc), and on decide hands the facts (the features'
// score among them) to a json-rules-engine Engine whose rules are the gates
// in the documented order, the dwell rule and the score threshold; the first
// rule that fires (by priority) is the decision, and an offer is recorded.
// A faithful rendition, not a port: the holdout draw is FNV-1a instead of
// SipHash under a salt-derived key, and the rate window is a list of offer
// times instead of 60 buckets, so offer counts differ a little.
'use strict';

const fs = require('fs');
const path = require('path');

const koffi = require('koffi');
const {Engine: RulesEngine} = require('json-rules-engine');
const {Beckon, BeckonError} = require('./beckon_ffi.js');

// --- The default policy ------------------------------------------------------------

const [LANDING, CATEGORY, PRODUCT, SEARCH, HELP, CART, CHECKOUT, ACCOUNT,
       OTHER] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const UNLISTED = '(unlisted)';
// pattern -> [role, dwell threshold s, help rate]
const GROUPS = new Map([
  ['/', [LANDING, 40, 0.02]], ['/c/*', [CATEGORY, 60, 0.02]],
  ['/p/*', [PRODUCT, 90, 0.04]], ['/search', [SEARCH, 30, 0.05]],
  ['/help/*', [HELP, 45, 0.15]], ['/help/shipping', [HELP, 40, 0.12]],
  ['/help/returns', [HELP, 40, 0.12]], ['/contact', [HELP, 20, 0.30]],
  ['/cart', [CART, 45, 0.05]], ['/checkout/*', [CHECKOUT, 35, 0.08]],
  ['/account/*', [ACCOUNT, 60, 0.06]], [UNLISTED, [OTHER, 60, 0.03]],
]);
const PREFIX_RULES = [
  ['/help', '/help/*'], ['/faq', '/help/*'], ['/support', '/help/*'],
  ['/contact', '/contact'], ['/shipping', '/help/shipping'],
  ['/delivery', '/help/shipping'], ['/returns', '/help/returns'],
  ['/search', '/search'], ['/checkout', '/checkout/*'], ['/cart', '/cart'],
  ['/basket', '/cart'], ['/account', '/account/*'], ['/login', '/account/*'],
  ['/register', '/account/*'], ['/p/', '/p/*'], ['/product', '/p/*'],
  ['/c/', '/c/*'], ['/category', '/c/*'],
];
const SEARCH_ENGINES = ['google.', 'bing.com', 'duckduckgo.com',
                        'search.yahoo.', 'yandex.', 'baidu.com', 'ecosia.org',
                        'qwant.com'];
const W = {bias: -4.2, dwell: 0.9, help: 0.45, searches: 0.1, zero: 0.7,
           loops: 0.35, bnf: 0.4, path: 1.0, stall: 0.25, pages: 0.1,
           cart: 0.08, rate: 4.0};
const P = {threshold: 0.5, declineMs: 2592000000, ignoredCap: 2,
           ignoredMs: 604800000, maxOffers: 1, minGapMs: 300000,
           holdout: 0.05, acceptRate: 0.3, windowMs: 300000, plenty: 4,
           atOne: 0.75, timeoutMs: 1800000};

function normalize(url) {
  const i = url.indexOf('://');
  if (i >= 0 && !/[/?#]/.test(url.slice(0, i))) {
    const j = url.indexOf('/', i + 3);
    url = j >= 0 ? url.slice(j) : '/';
  }
  for (const c of ['?', '#']) {
    const k = url.indexOf(c);
    if (k >= 0) url = url.slice(0, k);
  }
  const segs = url.toLowerCase().split('/').filter((s) => s.length > 0);
  return ('/' + segs.join('/')).slice(0, 256);
}

function idLike(seg) {
  if (!/[0-9]/.test(seg)) return false;
  return /^[0-9]+$/.test(seg) || /[0-9]{3}/.test(seg) ||
         (seg.length >= 16 && /^[0-9a-f-]+$/.test(seg));
}

const groupCache = new Map();
function groupOf(p) {
  let g = groupCache.get(p);
  if (g !== undefined) return g;
  if (p === '/') {
    g = '/';
  } else {
    const rule = PREFIX_RULES.find(([prefix]) => p.startsWith(prefix));
    if (rule) {
      g = rule[1];
    } else {
      const t = '/' + p.split('/').filter((s) => s)
                           .map((s) => (idLike(s) ? '*' : s)).join('/');
      g = GROUPS.has(t) ? t : UNLISTED;
    }
  }
  if (groupCache.size < 100000) groupCache.set(p, g);
  return g;
}

function fromSearchEngine(referrer) {
  const i = referrer.indexOf('//');
  if (i < 0) return false;
  let host = referrer.slice(i + 2).split(/[/?#]/)[0];
  host = host.slice(host.lastIndexOf('@') + 1).split(':')[0].toLowerCase();
  return SEARCH_ENGINES.some((e) => (e.endsWith('.')
      ? host.startsWith(e) || host.includes('.' + e)
      : host === e || host.endsWith('.' + e)));
}

function inHoldout(visitor) {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(visitor)) {
    h = Math.imul(h ^ b, 0x01000193) >>> 0;
  }
  return h / 2 ** 32 < P.holdout;
}

// The gates, the dwell rule and the threshold as json-rules-engine rules:
// the highest priority that fires decides (docs/concepts.md section 7).
function rule(priority, action, reason, conditions) {
  return {priority, conditions: {all: conditions},
          event: {type: action, params: {reason}}};
}
const is = (fact, value) => ({fact, operator: 'equal', value});
const RULES = [
  rule(12, 'wait', 'no_session', [is('hasSession', false)]),
  rule(11, 'suppress', 'declined', [is('declinedRecently', true)]),
  rule(10, 'suppress', 'ignored', [
    {fact: 'ignores', operator: 'greaterThanInclusive', value: P.ignoredCap},
    {fact: 'sinceIgnoreMs', operator: 'lessThan', value: P.ignoredMs}]),
  rule(9, 'suppress', 'engaged', [is('engaged', true)]),
  rule(8, 'suppress', 'session_cap', [
    {fact: 'offers', operator: 'greaterThanInclusive', value: P.maxOffers}]),
  rule(7, 'suppress', 'min_gap', [
    {fact: 'sinceOfferMs', operator: 'lessThan', value: P.minGapMs}]),
  rule(6, 'wait', 'dwell', [
    {fact: 'dwellS', operator: 'lessThan', value: {fact: 'dwellThresholdS'}}]),
  rule(5, 'wait', 'below_threshold', [
    {fact: 'probability', operator: 'lessThan', value: {fact: 'threshold'}}]),
  rule(4, 'suppress', 'holdout', [is('holdout', true)]),
  rule(3, 'suppress', 'no_agents', [is('freeAgents', 0)]),
  rule(2, 'suppress', 'rate_cap', [
    {fact: 'freeAgents', operator: 'greaterThan', value: 0},
    {fact: 'offersInWindow', operator: 'greaterThanInclusive',
     value: {fact: 'rateCap'}}]),
  rule(1, 'offer', 'score', [is('hasSession', true)]),
];

function newSession(ts) {
  return {lastEvent: ts, lastActivity: ts, pages: 0, helpHits: 0,
          searches: 0, zero: 0, loops: 0, bnf: 0, recent: [], steps: [],
          group: UNLISTED, page: null, fromSe: false, seenPageView: false,
          inCheckout: false, progress: ts, cart: 0, engaged: false,
          offers: 0, lastOffer: null, pending: false, path: 0};
}

class RulesHost {
  constructor() {
    this.sessions = new Map();
    this.memory = new Map();  // visitor -> {decline, ignores, lastIgnore}
    this.agents = null;
    this.window = [];
    this.engine = new RulesEngine(RULES, {allowUndefinedFacts: true});
    let first = null;
    this.engine.on('success', (event) => {
      if (first === null) {
        first = event;
        this.engine.stop();  // Lower priorities need not run.
      }
    });
    this.takeFirst = () => {
      const e = first;
      first = null;
      return e;
    };
  }

  observe(ts, visitor, event, page, detail) {
    if (event === 'agents') {
      this.agents = Number(detail);
      return;
    }
    let s = this.sessions.get(visitor);
    if (s === undefined || ts - s.lastEvent > P.timeoutMs) {
      s = newSession(ts);
      this.sessions.set(visitor, s);
    }
    s.lastEvent = ts;
    if (event !== 'offer_shown') s.lastActivity = ts;
    if (event === 'page_view' || event === 'search') {
      const p = normalize(page);
      const group = groupOf(p);
      const role = GROUPS.get(group)[0];
      const isSearch = event === 'search';
      let reload = false;
      if (isSearch) {
        s.searches += 1;
        if (Number(detail || 0) === 0) s.zero += 1;
      } else {
        if (!s.seenPageView) {
          s.seenPageView = true;
          s.fromSe = detail !== '' && fromSearchEngine(detail);
        }
        s.pages += 1;
        reload = s.recent.length > 0 && s.recent[s.recent.length - 1] === p;
        if (!reload && role === HELP) s.helpHits += 1;
      }
      if (role === CHECKOUT) {
        if (!s.inCheckout || isSearch || p !== s.page) s.progress = ts;
        s.inCheckout = true;
      } else {
        s.inCheckout = false;
      }
      s.group = group;
      s.page = p;
      if (!reload) {
        const r = s.recent;
        if (r.length >= 2 && r[r.length - 2] === p) {
          s.bnf += 1;
        } else if (r.includes(p)) {
          s.loops += 1;
        }
        r.push(p);
        if (r.length > 6) r.shift();
        const st = s.steps;
        st.push(role);
        if (st.length > 8) st.shift();
        let best = 0;
        if (st.length >= 2 && st[st.length - 1] === HELP) {
          if (st[st.length - 2] === SEARCH) {
            best = s.fromSe ? 1.0 : 0.6;
          } else if (st[st.length - 2] === CHECKOUT) {
            best = 0.8;
          }
        }
        s.path = best;
      }
    } else if (event === 'cart') {
      s.cart = Number(detail);
      if (s.inCheckout) s.progress = ts;
    } else if (event === 'purchase') {
      s.cart = 0;
      if (s.inCheckout) s.progress = ts;
    } else if (event === 'offer_shown') {
      if (s.pending) {
        s.pending = false;
      } else {
        s.offers += 1;
        s.lastOffer = ts;
      }
    } else {
      s.pending = false;
      if (event === 'help_contact' || event === 'offer_accepted') {
        s.engaged = true;
      } else if (event === 'offer_declined' || event === 'offer_ignored') {
        let m = this.memory.get(visitor);
        if (m === undefined) {
          m = {decline: null, ignores: 0, lastIgnore: null};
          this.memory.set(visitor, m);
        }
        if (event === 'offer_declined') {
          m.decline = m.decline === null ? ts : Math.max(m.decline, ts);
        } else {
          if (m.lastIgnore !== null && ts - m.lastIgnore >= P.ignoredMs) {
            m.ignores = 0;
          }
          m.ignores += 1;
          m.lastIgnore = ts;
        }
      }
    }
  }

  // The facts of a decision at `ts`.
  facts(ts, visitor) {
    const s = this.sessions.get(visitor);
    if (s === undefined || ts - s.lastEvent > P.timeoutMs) {
      return {hasSession: false};
    }
    const m = this.memory.get(visitor);
    const [, dwellThresholdS, helpRate] = GROUPS.get(s.group);
    const dwellS = (ts - s.lastActivity) / 1000;
    const stall = s.inCheckout ? Math.min((ts - s.progress) / 60000, 30) : 0;
    const z = W.bias + W.dwell * Math.min(dwellS / dwellThresholdS, 4) +
        W.help * Math.min(s.helpHits, 10) +
        W.searches * Math.min(s.searches, 10) +
        W.zero * Math.min(s.zero, 10) + W.loops * Math.min(s.loops, 10) +
        W.bnf * Math.min(s.bnf, 10) + W.path * s.path + W.stall * stall +
        W.pages * Math.log1p(s.pages) + W.cart * Math.log1p(s.cart) +
        W.rate * helpRate;
    const n = this.agents;
    let threshold = P.threshold;
    if (n !== null && n >= 1 && n < P.plenty) {
      threshold += (P.atOne - P.threshold) * (P.plenty - n) / (P.plenty - 1);
    }
    const w = this.window;
    while (w.length > 0 && w[0] <= ts - P.windowMs) w.shift();
    return {
      hasSession: true,
      declinedRecently: m !== undefined && m.decline !== null &&
                        ts - m.decline < P.declineMs,
      ignores: m === undefined ? 0 : m.ignores,
      sinceIgnoreMs: m === undefined || m.lastIgnore === null
          ? Infinity : ts - m.lastIgnore,
      engaged: s.engaged,
      offers: s.offers,
      sinceOfferMs: s.lastOffer === null ? Infinity : ts - s.lastOffer,
      dwellS, dwellThresholdS,
      probability: 1 / (1 + Math.exp(-z)),
      threshold,
      holdout: inHoldout(visitor),
      freeAgents: n === null ? -1 : n,
      offersInWindow: w.length,
      rateCap: n === null ? Infinity : Math.floor(n / P.acceptRate),
    };
  }

  async decide(ts, visitor) {
    await this.engine.run(this.facts(ts, visitor));
    const e = this.takeFirst();
    if (e.type === 'offer') {
      const s = this.sessions.get(visitor);
      s.offers += 1;
      s.lastOffer = ts;
      s.lastEvent = Math.max(s.lastEvent, ts);
      s.pending = true;
      if (this.agents !== null) this.window.push(ts);
    }
    return e.params.reason;
  }
}

// --- The log -----------------------------------------------------------------------

function readLog(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const rows = [];
  for (let i = 1; i < lines.length; ++i) {
    if (lines[i] === '') continue;
    const f = lines[i].split(',');
    rows.push([Number(f[0]), f[1], f[2], f[3], f.slice(4).join(',')]);
  }
  return rows;
}

async function runRules(rows) {
  const host = new RulesHost();
  const reasons = {};
  const t0 = process.hrtime.bigint();
  for (const [ts, visitor, event, page, detail] of rows) {
    if (event !== 'agents') {
      const r = await host.decide(ts, visitor);
      reasons[r] = (reasons[r] || 0) + 1;
    }
    host.observe(ts, visitor, event, page, detail);
  }
  return {reasons, seconds: Number(process.hrtime.bigint() - t0) / 1e9};
}

const CHANNELS = {'': 0, chat: 1, call: 2, email: 3, form: 4};

function runBeckon(b, rows, maxSessions) {
  const fn = b.fn;
  const options = b.make('engine_options_create');
  let engine;
  try {
    b.call('engine_options_set_max_sessions', options, maxSessions);
    engine = b.make('engine_create_default', options);
  } finally {
    fn.engine_options_destroy(options);
  }
  const decision = b.make('decision_create');
  // The hot loop passes NULL for errptr (a rejected call changes nothing and
  // is only counted here), and reads the decision's info from a Buffer:
  // koffi's decoding of the struct into an object costs ~4 us a call, the
  // Buffer ~0.2 us. session.js's declarations otherwise.
  // One crossing per decision: beckon_engine_decide_info fills the info
  // (no decision handle: the rules never read the reasons here).
  const decideInfo = b.lib.func(
      'int beckon_engine_decide_info(beckon_engine_t* engine, ' +
      'const char* visitor, int64_t now_ms, void* decision, void* info, ' +
      'void* errptr)');
  const infoSize = koffi.sizeof(b.DecisionInfo);
  const info = Buffer.alloc(infoSize);
  info.writeUInt32LE(infoSize, 0);
  const reasonAt = koffi.offsetof(b.DecisionInfo, 'reason');
  const err = null;
  const reasonNames = [];
  for (let r = 0; r < 32; ++r) reasonNames.push(fn.reason_name(r));
  const counts = new Array(32).fill(0);
  let rejected = 0;
  const check = (status) => status === 0;
  const t0 = process.hrtime.bigint();
  for (const [ts, visitor, event, page, detail] of rows) {
    if (event !== 'agents') {
      if (check(decideInfo(engine, visitor, ts, null, info, null))) {
        counts[info.readInt32LE(reasonAt)] += 1;
      }
    }
    let ok;
    switch (event) {
      case 'page_view':
        ok = fn.engine_observe_page_view(engine, ts, visitor, page, detail,
                                         err);
        break;
      case 'search':
        ok = fn.engine_observe_search(engine, ts, visitor, page,
                                      Number(detail || 0), err);
        break;
      case 'cart':
        ok = fn.engine_observe_cart(engine, ts, visitor, page, Number(detail),
                                    err);
        break;
      case 'purchase':
        ok = fn.engine_observe_purchase(engine, ts, visitor, page,
                                        Number(detail), err);
        break;
      case 'agents':
        ok = fn.engine_observe_agents(engine, ts, Number(detail), err);
        break;
      default:  // help_contact, offer_shown/accepted/declined/ignored
        ok = fn[`engine_observe_${event}`](engine, ts, visitor, page,
                                           CHANNELS[detail] ?? 0, err);
    }
    if (!check(ok)) rejected += 1;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  fn.decision_destroy(decision);
  fn.engine_destroy(engine);
  const reasons = {};
  counts.forEach((c, r) => {
    if (c > 0) reasons[reasonNames[r]] = c;
  });
  return {reasons, seconds, rejected};
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]
                      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main() {
  const args = {rounds: '1'};
  for (let i = 2; i < process.argv.length; i += 2) {
    args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
  }
  if (!args.lib || !args.log) {
    console.error('usage: compare.js --lib libbeckon_c.so --log FILE ' +
                  '[--rounds N] [--json OUT]');
    return 2;
  }
  const rows = readLog(args.log);
  const visitors = new Set(rows.map((r) => r[1]));
  const b = new Beckon(args.lib);
  const times = {json_rules_engine: [], beckon_koffi: []};
  const result = {};
  for (let k = 0; k < Math.max(1, Number(args.rounds)); ++k) {
    const r = await runRules(rows);
    times.json_rules_engine.push(r.seconds);
    result.json_rules_engine = r;
    const c = runBeckon(b, rows, 2 * visitors.size + 1024);
    times.beckon_koffi.push(c.seconds);
    result.beckon_koffi = c;
  }
  const out = {events: rows.length, rounds: times.beckon_koffi.length};
  for (const name of Object.keys(times)) {
    const sec = median(times[name]);
    const reasons = result[name].reasons;
    out[name] = {seconds: sec, events_per_s: rows.length / sec,
                 decisions: Object.values(reasons).reduce((a, x) => a + x, 0),
                 offers: reasons.score || 0, reasons};
    if (result[name].rejected !== undefined) {
      out[name].rejected = result[name].rejected;
    }
    console.log(`${name.padEnd(18)} ${Math.round(out[name].events_per_s)
                    .toLocaleString('en-US').padStart(12)} events/s  ` +
                `offers ${out[name].offers}  decisions ` +
                `${out[name].decisions}  ${JSON.stringify(reasons)}`);
  }
  out.ratio = out.beckon_koffi.events_per_s /
              out.json_rules_engine.events_per_s;
  out.node = process.version;
  console.log(`beckon (koffi) / json-rules-engine: ${out.ratio.toFixed(1)}x ` +
              `(${rows.length} events)`);
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(out, null, 1));
  return 0;
}

main().then((code) => {
  process.exitCode = code;
}, (e) => {
  console.error(e instanceof BeckonError ? `beckon: ${e.message}` : e);
  process.exitCode = 1;
});
