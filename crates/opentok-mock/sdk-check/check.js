// Runs the official Node SDKs against opentok-mock; exits non-zero with a message on any failure.
//   node check.js opentok URL API_KEY API_SECRET
//   node check.js vonage URL APPLICATION_ID PRIVATE_KEY_PATH OTHER_PRIVATE_KEY_PATH PUBLIC_KEY_PATH
//   node check.js server SERVER_URL APPLICATION_ID PRIVATE_KEY_PATH PUBLIC_KEY_PATH
//     (our server in Vonage mode: its token against generateClientToken's for the same inputs)
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');

function fail(message) {
  console.error(`node-sdk-check: FAILED: ${message}`);
  process.exit(1);
}

async function checkOpenTok(url, apiKey, apiSecret) {
  const OpenTok = require('opentok');
  const ot = new OpenTok(apiKey, apiSecret, { apiUrl: url });
  // The SDK's auth JWT has no jti; the mock, like the real service, accepts that by default.
  for (const mediaMode of ['routed', 'relayed']) {
    const session = await new Promise((resolve, reject) =>
      ot.createSession({ mediaMode }, (err, s) => (err ? reject(err) : resolve(s))));
    if (!session.sessionId || !session.sessionId.startsWith('1_')) {
      fail(`opentok createSession (${mediaMode}) gave ${JSON.stringify(session.sessionId)}`);
    }
  }
  const wrong = new OpenTok(apiKey, 'not-the-secret', { apiUrl: url });
  const refused = await new Promise((resolve) => wrong.createSession({}, (err) => resolve(err)));
  if (!refused) fail('opentok createSession with a wrong secret succeeded');
  console.log('node-sdk-check: opentok@2.23.2 OK (routed, relayed, wrong secret refused)');
}

function decodeJwt(token) {
  const [h, p, s] = token.split('.');
  if (!s) fail(`not a compact JWT: ${token}`);
  const part = (x) => JSON.parse(Buffer.from(x, 'base64url').toString('utf8'));
  return { header: part(h), claims: part(p), signed: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
}

async function checkVonage(url, applicationId, keyPath, otherKeyPath, publicKeyPath) {
  const { Video, MediaMode } = require('@vonage/video');
  const video = new Video(
    { applicationId, privateKey: fs.readFileSync(keyPath, 'utf8') },
    { videoHost: url },
  );
  // With no location the SDK sends the literal `location=null`.
  await video.createSession({});
  const session = await video.createSession({ mediaMode: MediaMode.ROUTED });
  if (!session.sessionId || !session.sessionId.startsWith('1_')) {
    fail(`@vonage/video createSession gave ${JSON.stringify(session)}`);
  }
  const record = Buffer.from(session.sessionId.slice(2), 'base64url').toString('utf8');
  if (record.split('~')[1] !== applicationId) fail(`session id record ${record} lacks the application id`);

  const wrong = new Video(
    { applicationId, privateKey: fs.readFileSync(otherKeyPath, 'utf8') },
    { videoHost: url },
  );
  let refused = false;
  try {
    await wrong.createSession({});
  } catch (err) {
    refused = true;
    const status = err.response?.status ?? err.status;
    if (status !== undefined && status !== 401) fail(`wrong key refused with ${status}, expected 401`);
  }
  if (!refused) fail('@vonage/video createSession with a wrong key succeeded');

  const token = video.generateClientToken(session.sessionId, { role: 'moderator', data: 'name=Johnny' });
  const jwt = decodeJwt(token);
  const publicKey = fs.readFileSync(publicKeyPath, 'utf8');
  if (jwt.header.alg !== 'RS256') fail(`client token alg ${jwt.header.alg}`);
  if (!crypto.verify('RSA-SHA256', Buffer.from(jwt.signed), publicKey, jwt.signature)) {
    fail('the client token does not verify with the test public key');
  }
  const expected = ['scope', 'session_id', 'role', 'initial_layout_class_list', 'exp', 'sub', 'acl',
    'connection_data', 'jti', 'iat', 'application_id'];
  const names = Object.keys(jwt.claims);
  for (const name of expected) {
    if (!names.includes(name)) fail(`client token lacks ${name}: ${names.join(',')}`);
  }
  if (names.join(',') !== expected.join(',')) {
    console.error(`node-sdk-check: note: claim order ${names.join(',')} differs from ${expected.join(',')}`);
  }
  if (jwt.claims.application_id !== applicationId || jwt.claims.session_id !== session.sessionId) {
    fail(`client token claims ${JSON.stringify(jwt.claims)}`);
  }
  console.log('node-sdk-check: @vonage/video OK (create, wrong key refused, client token verifies)');
}

/** Verifies an RS256 token with the public key and returns its header and claims. */
function verified(what, token, publicKey) {
  const jwt = decodeJwt(token);
  if (jwt.header.alg !== 'RS256') fail(`${what}: alg ${jwt.header.alg}`);
  if (!crypto.verify('RSA-SHA256', Buffer.from(jwt.signed), publicKey, jwt.signature)) {
    fail(`${what} does not verify with the test public key`);
  }
  return jwt;
}

async function post(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201) fail(`POST ${url} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

async function checkServer(serverUrl, applicationId, keyPath, publicKeyPath) {
  const { Video } = require('@vonage/video');
  const video = new Video({ applicationId, privateKey: fs.readFileSync(keyPath, 'utf8') });
  const publicKey = fs.readFileSync(publicKeyPath, 'utf8');
  const { id } = await post(`${serverUrl}/session`);
  const expireTime = Math.round(Date.now() / 1000) + 3600;
  const cases = [
    { role: 'moderator', data: 'name=Johnny "J" é', initialLayoutClassList: ['focus', 'full'] },
    { role: 'subscriber', data: 'x', initialLayoutClassList: ['inactive'] },
    { role: 'publisher', data: 'user=1&name=Jane Doe', initialLayoutClassList: [] },
    { role: 'publisheronly', data: '', initialLayoutClassList: [] },
  ];
  for (const c of cases) {
    const access = await post(`${serverUrl}/session/${id}/access`, {
      role: c.role, data: c.data, initialLayoutClassList: c.initialLayoutClassList, expiresAt: expireTime,
    });
    if (access.apiKey !== applicationId) fail(`apiKey ${access.apiKey}, expected the application id`);
    const ours = verified('our server\'s token', access.token, publicKey);
    const sdk = verified('generateClientToken\'s token', video.generateClientToken(id, { ...c, expireTime }), publicKey);
    const what = `role ${c.role}`;
    if (JSON.stringify(ours.header) !== JSON.stringify(sdk.header)) {
      fail(`${what}: header ${JSON.stringify(ours.header)} vs the SDK's ${JSON.stringify(sdk.header)}`);
    }
    const names = (jwt) => Object.keys(jwt.claims).join(',');
    if (names(ours) !== names(sdk)) fail(`${what}: claims ${names(ours)} vs the SDK's ${names(sdk)}`);
    for (const name of Object.keys(sdk.claims)) {
      const [a, b] = [ours.claims[name], sdk.claims[name]];
      if (name === 'jti') {
        const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
        if (!uuid.test(a) || !uuid.test(b) || a === b) fail(`${what}: jti ${a} vs ${b}`);
      } else if (name === 'iat' || name === 'exp') {
        // Minted a moment apart; iat may straddle a second (or two, on a slow runner).
        if (typeof a !== 'number' || Math.abs(a - b) > (name === 'iat' ? 2 : 1)) fail(`${what}: ${name} ${a} vs ${b}`);
      } else if (JSON.stringify(a) !== JSON.stringify(b)) {
        fail(`${what}: ${name} ${JSON.stringify(a)} vs the SDK's ${JSON.stringify(b)}`);
      }
    }
  }
  console.log(`node-sdk-check: our server's RS256 tokens match @vonage/video's (${cases.length} cases)`);
}

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'opentok' && args.length === 3) return checkOpenTok(...args);
  if (mode === 'vonage' && args.length === 5) return checkVonage(...args);
  if (mode === 'server' && args.length === 4) return checkServer(...args);
  fail('usage: check.js opentok URL KEY SECRET | vonage URL APP_ID KEY OTHER_KEY PUBLIC_KEY'
    + ' | server SERVER_URL APP_ID KEY PUBLIC_KEY');
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
