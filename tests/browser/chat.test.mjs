// Real Chromium against the local gateway, the way a web chat app uses it:
// the app is served from its own origin and calls the API cross-origin, so
// every request goes through the browser's CORS checks (preflights for JSON
// bodies and the Authorization header), the WebSocket is opened with the
// token in the query (browsers cannot set headers on it), and the picture is
// uploaded as the multipart body Chromium itself encodes.
//
// Run by `bash .ci/test-all`; alone: `cargo build -p local-gateway && (cd
// tests/browser && npm ci && npm test)`. GATEWAY_BIN and CHROMIUM override the
// binaries' paths.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { codeFor, launchChromium, startGateway } from './support.mjs';

let gateway; // { process, base, console }
let appOrigin; // the allowed origin
let foreignOrigin; // an origin the gateway does not allow
const pageServers = [];
let browser;

/** Serves an empty app page on a free loopback port; resolves to its origin. */
async function servePage() {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><meta charset="utf-8"><title>chat app</title><body></body>');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  pageServers.push(server);
  return `http://127.0.0.1:${server.address().port}`;
}

async function newPage(origin) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  return page;
}

/** `fetch` from inside the page; returns status and parsed body, or the error. */
function call(page, method, path, { body, token } = {}) {
  return page.evaluate(
    async ({ base, method, path, body, token }) => {
      const headers = {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (token) headers.authorization = `Bearer ${token}`;
      try {
        const res = await fetch(base + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : null };
      } catch (error) {
        return { error: String(error) };
      }
    },
    { base: gateway.base, method, path, body, token },
  );
}

/** Registers, verifies and logs in `name` from the page; returns tokens and profile. */
async function signUp(page, name) {
  const email = `${name}@example.com`;
  const password = 'correct horse battery';
  const registered = await call(page, 'POST', '/api/users/register/', {
    body: { username: name, email, password, password2: password },
  });
  assert.equal(registered.status, 201, JSON.stringify(registered));
  const verified = await call(page, 'POST', '/api/users/verify-email/', {
    body: { email, otp: await codeFor(gateway, email) },
  });
  assert.equal(verified.status, 200, JSON.stringify(verified));
  const login = await call(page, 'POST', '/api/users/token/', { body: { email, password } });
  assert.equal(login.status, 200, JSON.stringify(login));
  const profile = await call(page, 'GET', '/api/users/profile/', { token: login.body.access });
  assert.equal(profile.status, 200, JSON.stringify(profile));
  return { ...login.body, profile: profile.body };
}

before(async () => {
  appOrigin = await servePage();
  foreignOrigin = await servePage();
  gateway = await startGateway({ CORS_ALLOWED_ORIGINS: appOrigin });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  gateway?.process.kill('SIGTERM');
  for (const server of pageServers) server.close();
});

test('a web app on an allowed origin signs up, chats over WebSocket and REST, and refreshes its token', async () => {
  const alicePage = await newPage(appOrigin);
  const bobPage = await newPage(appOrigin);
  const alice = await signUp(alicePage, 'alice');
  const bob = await signUp(bobPage, 'bob');

  const direct = await call(alicePage, 'POST', `/api/chat/direct-chat/${bob.profile.id}/`, {
    token: alice.access,
  });
  assert.equal(direct.status, 201, JSON.stringify(direct));
  const room = direct.body.id;

  // Both open the seed's per-room socket; Bob listens for two messages.
  const socketUrl = (token) =>
    `${gateway.base.replace('http', 'ws')}/ws/chat/${room}/?token=${encodeURIComponent(token)}`;
  const bobHears = bobPage.evaluate(
    (url) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        const messages = [];
        ws.onmessage = (event) => {
          const data = JSON.parse(event.data);
          if (data.type === 'message') messages.push(data);
          if (messages.length === 2) resolve(messages);
        };
        ws.onopen = () => {
          window.bobReady = true;
        };
        ws.onerror = () => reject(new Error('bob socket error'));
        setTimeout(() => reject(new Error(`bob heard ${JSON.stringify(messages)}`)), 10000);
      }),
    socketUrl(bob.access),
  );
  await bobPage.waitForFunction(() => window.bobReady === true);

  const aliceEcho = await alicePage.evaluate(
    (url) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.onopen = () => ws.send(JSON.stringify({ message: 'hello from chromium' }));
        ws.onmessage = (event) => {
          const data = JSON.parse(event.data);
          if (data.type === 'message') resolve(data);
        };
        ws.onerror = () => reject(new Error('alice socket error'));
        setTimeout(() => reject(new Error('alice heard nothing')), 10000);
      }),
    socketUrl(alice.access),
  );
  assert.equal(aliceEcho.message, 'hello from chromium');
  assert.equal(aliceEcho.sender, 'alice');

  const sent = await call(alicePage, 'POST', `/api/chat/rooms/${room}/messages/`, {
    token: alice.access,
    body: { message: 'and one over REST' },
  });
  assert.equal(sent.status, 201, JSON.stringify(sent));

  const heard = await bobHears;
  assert.deepEqual(
    heard.map((m) => [m.room_id, m.sender, m.message]),
    [
      [room, 'alice', 'hello from chromium'],
      [room, 'alice', 'and one over REST'],
    ],
  );

  const history = await call(bobPage, 'GET', `/api/chat/rooms/${room}/messages/`, {
    token: bob.access,
  });
  assert.equal(history.status, 200);
  assert.deepEqual(
    history.body.results.map((m) => m.message),
    ['and one over REST', 'hello from chromium'],
  );

  const refreshed = await call(alicePage, 'POST', '/api/users/token/refresh/', {
    body: { refresh: alice.refresh },
  });
  assert.equal(refreshed.status, 200, JSON.stringify(refreshed));
  assert.notEqual(refreshed.body.refresh, alice.refresh, 'the refresh token rotates');
  // A second tab presenting the same token at once stays signed in too.
  const secondTab = await call(alicePage, 'POST', '/api/users/token/refresh/', {
    body: { refresh: alice.refresh },
  });
  assert.equal(secondTab.status, 200, JSON.stringify(secondTab));
  const out = await call(alicePage, 'POST', '/api/users/logout/', {
    body: { refresh: refreshed.body.refresh },
  });
  assert.equal(out.status, 200, JSON.stringify(out));
  const replayed = await call(alicePage, 'POST', '/api/users/token/refresh/', {
    body: { refresh: alice.refresh },
  });
  assert.equal(replayed.status, 401, 'a token of a logged-out session is refused, and the browser can read why');
  assert.ok(replayed.body.detail);
});

test('a picture drawn in the page uploads as Chromium encodes multipart, and shows in an <img>', async () => {
  const page = await newPage(appOrigin);
  const carol = await signUp(page, 'carol');
  const uploaded = await page.evaluate(
    async ({ base, token }) => {
      const canvas = document.createElement('canvas');
      canvas.width = 37;
      canvas.height = 21;
      const g = canvas.getContext('2d');
      g.fillStyle = '#c0ffee';
      g.fillRect(0, 0, 37, 21);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
      const form = new FormData();
      form.append('bio', 'drawn in a browser');
      form.append('profile_picture', blob, 'me.png');
      const res = await fetch(`${base}/api/users/profile/`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}` },
        body: form,
      });
      const profile = await res.json();
      if (!res.ok) return { status: res.status, profile };
      const img = new Image();
      img.src = profile.profile_picture;
      await img.decode();
      return { status: res.status, profile, width: img.naturalWidth, height: img.naturalHeight };
    },
    { base: gateway.base, token: carol.access },
  );
  assert.equal(uploaded.status, 200, JSON.stringify(uploaded));
  assert.equal(uploaded.profile.bio, 'drawn in a browser');
  assert.deepEqual([uploaded.width, uploaded.height], [37, 21]);
});

test('a page of an origin the gateway does not allow cannot read the API', async () => {
  const page = await newPage(foreignOrigin);
  const profile = await call(page, 'GET', '/api/users/profile/', { token: 'any' });
  assert.match(profile.error ?? '', /Failed to fetch/, JSON.stringify(profile));
  const register = await call(page, 'POST', '/api/users/register/', {
    body: { username: 'mallory', email: 'mallory@example.com', password: 'correct horse battery' },
  });
  assert.match(register.error ?? '', /Failed to fetch/, JSON.stringify(register));
  assert.doesNotMatch(gateway.console(), /mallory/, 'the refused preflight kept the POST from being sent');
});

test('a WebSocket with a bad token never opens', async () => {
  const page = await newPage(appOrigin);
  const outcome = await page.evaluate(
    (url) =>
      new Promise((resolve) => {
        const ws = new WebSocket(url);
        ws.onopen = () => resolve('opened');
        ws.onclose = (event) => resolve(`closed ${event.code}`);
      }),
    `${gateway.base.replace('http', 'ws')}/ws/?token=not-a-token`,
  );
  assert.equal(outcome, 'closed 1006');
});
