// A worker process of the Redis test (not a test file itself): its own
// engine over the Redis URL of argv[2]; it plays the events it is sent and
// answers each request with the engine's decision, as one of a Node
// cluster's workers would.
'use strict';

const {beckon} = require('./helpers');

const engine = new beckon.Engine({store: {redis: process.argv[2]}});
process.on('message', (m) => {
  try {
    if (m.op === 'event') {
      engine.observe(m.event);
      process.send({id: m.id, ok: true});
    } else if (m.op === 'decide') {
      const d = engine.decide(m.visitor, m.nowMs);
      process.send({id: m.id, ok: true, decision: d.toJSON()});
    } else if (m.op === 'exit') {
      engine.close();
      process.disconnect();
    }
  } catch (e) {
    process.send({id: m.id, ok: false, code: e.code, message: e.message});
  }
});
process.send({ready: true, pid: process.pid});
