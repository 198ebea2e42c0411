// Benchmark baseline: the two routes of tiny-opentok-server written the way a Node user would,
// with Express and the official `opentok` SDK. Sessions live in a Map, as ours live in memory.
//
// Environment: OPENTOK_KEY, OPENTOK_SECRET, OPENTOK_API_URL (the SDK's third constructor argument,
// pointed at the local mock), PORT (0 picks a free one), HOST (127.0.0.1), TOKEN_FORMAT (t1 | jwt,
// the same format our server is configured with, so both sign the same kind of token).
// PEER_SEED_SESSION: a session id to store at startup. The harness uses it only when the mock
// refuses this SDK's session-create call, so that POST /session/:id/access can still be measured.
//
// Prints one line, `listening on http://HOST:PORT`, on stdout once it accepts connections.

'use strict';

const express = require('express');
const OpenTok = require('opentok');

const key = process.env.OPENTOK_KEY;
const secret = process.env.OPENTOK_SECRET;
const apiUrl = process.env.OPENTOK_API_URL;
if (!key || !secret || !apiUrl) {
  console.error('peer: OPENTOK_KEY, OPENTOK_SECRET and OPENTOK_API_URL are required');
  process.exit(2);
}
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 0);
// generateToken's third argument asks for a legacy T1 token; JWT is the SDK's default.
const legacyT1 = (process.env.TOKEN_FORMAT || 't1') === 't1';

const opentok = new OpenTok(key, secret, apiUrl);
const sessions = new Map();

function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

function remember(id) {
  const session = {
    id,
    mediaMode: 'routed',
    location: null,
    archiveMode: 'manual',
    e2ee: false,
    createdAt: nowSeconds(),
  };
  sessions.set(id, session);
  return session;
}

if (process.env.PEER_SEED_SESSION) remember(process.env.PEER_SEED_SESSION);

const app = express();
app.disable('x-powered-by');
app.use(express.json());
app.use(express.urlencoded({ extended: false }));

app.get('/healthz', (req, res) => {
  res.json({ status: 'ok' });
});

app.post('/session', (req, res) => {
  opentok.createSession({ mediaMode: 'routed' }, (err, session) => {
    if (err) {
      res.status(502).json({ error: 'upstream_error', message: err.message });
      return;
    }
    res.status(201).json(remember(session.sessionId));
  });
});

app.post('/session/:id/access', (req, res) => {
  const session = sessions.get(req.params.id);
  if (!session) {
    res.status(404).json({ error: 'session_not_found', message: 'no such session' });
    return;
  }
  const body = req.body || {};
  const role = body.role || 'publisher';
  const expiresAt = Number(body.expiresAt) || nowSeconds() + 86400;
  const data = typeof body.data === 'string' ? body.data : '';
  let token;
  try {
    token = opentok.generateToken(session.id, { role, expireTime: expiresAt, data }, legacyT1);
  } catch (err) {
    res.status(400).json({ error: 'invalid_parameter', message: err.message });
    return;
  }
  res.status(201).json({ token, role, expiresAt, data, sessionId: session.id, apiKey: key });
});

const server = app.listen(port, host, () => {
  const addr = server.address();
  process.stdout.write(`listening on http://${addr.address}:${addr.port}\n`);
});

function stop() {
  server.close(() => process.exit(0));
  // Keep-alive connections would hold close() open; the harness has finished with them.
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
