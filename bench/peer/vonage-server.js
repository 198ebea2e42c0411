// Benchmark baseline for Vonage application credentials: the two routes of tiny-opentok-server
// written the way a Node user would, with Express and the official `@vonage/video` SDK (RS256
// client tokens from generateClientToken). Sessions live in a Map, as ours live in memory.
//
// Environment: VONAGE_APPLICATION_ID, VONAGE_PRIVATE_KEY_PATH (PEM), VONAGE_API_URL (the SDK's
// videoHost, pointed at the local mock), PORT (0 picks a free one), HOST (127.0.0.1).
//
// Prints one line, `listening on http://HOST:PORT`, on stdout once it accepts connections.

'use strict';

const fs = require('node:fs');
const express = require('express');
const { Video, MediaMode } = require('@vonage/video');

const applicationId = process.env.VONAGE_APPLICATION_ID;
const keyPath = process.env.VONAGE_PRIVATE_KEY_PATH;
const apiUrl = process.env.VONAGE_API_URL;
if (!applicationId || !keyPath || !apiUrl) {
  console.error('vonage peer: VONAGE_APPLICATION_ID, VONAGE_PRIVATE_KEY_PATH and VONAGE_API_URL are required');
  process.exit(2);
}
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 0);

const video = new Video(
  { applicationId, privateKey: fs.readFileSync(keyPath, 'utf8') },
  { videoHost: apiUrl },
);
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

const app = express();
app.disable('x-powered-by');
app.use(express.json());

app.get('/healthz', (req, res) => {
  res.json({ status: 'ok' });
});

app.post('/session', async (req, res) => {
  try {
    const session = await video.createSession({ mediaMode: MediaMode.ROUTED });
    res.status(201).json(remember(session.sessionId));
  } catch (err) {
    res.status(502).json({ error: 'upstream_error', message: err.message });
  }
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
  const initialLayoutClassList = Array.isArray(body.initialLayoutClassList) ? body.initialLayoutClassList : [];
  let token;
  try {
    token = video.generateClientToken(session.id, { role, expireTime: expiresAt, data, initialLayoutClassList });
  } catch (err) {
    res.status(400).json({ error: 'invalid_parameter', message: err.message });
    return;
  }
  res.status(201).json({ token, role, expiresAt, data, sessionId: session.id, apiKey: applicationId });
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
