// The reference web client (web/, served by the gateway at /) driven the
// way people use it: two browser contexts are two people who sign up
// through the page (the code read from the gateway's console), find each
// other by username and chat both ways, with typing shown to the other
// side and markup from the other side shown as text.
//
// Run by `bash .ci/test-all` with the other browser tests.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { codeFor, launchChromium, root, startGateway } from './support.mjs';

// The README shows the main screens as this run sees them.
const screenshots = `${root}docs/screenshots`;

let gateway; // { process, base, console }
let browser;

before(async () => {
  gateway = await startGateway();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  gateway?.process.kill('SIGTERM');
});

/**
 * A person in a browser context of their own, signed up through the page.
 * With `cuttable`, their sockets go through a route the test can cut:
 * `cut()` drops them and refuses new ones until `mend()`.
 */
async function person(name, { cuttable = false } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const link = { cut: false, sockets: [] };
  if (cuttable) {
    await page.routeWebSocket(/\/ws\//, (ws) => {
      if (link.cut) {
        ws.close({ code: 4001, reason: 'still cut' });
        return;
      }
      ws.connectToServer();
      link.sockets.push(ws);
    });
  }
  const cut = async () => {
    link.cut = true;
    for (const ws of link.sockets.splice(0)) await ws.close({ code: 4000, reason: 'cut by the test' });
  };
  const mend = () => {
    link.cut = false;
  };
  const problems = [];
  page.on('dialog', (dialog) => {
    problems.push(`a dialog opened: ${dialog.message()}`);
    dialog.dismiss();
  });
  page.on('pageerror', (error) => problems.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  await page.goto(`${gateway.base}/`);
  await page.setViewportSize({ width: 1100, height: 720 });
  if (name === 'alice') await page.screenshot({ path: `${screenshots}/sign-in.png` });
  const email = `${name}@example.com`;
  const signup = page.getByRole('form', { name: 'Sign up' });
  await signup.getByLabel('Username').fill(name);
  await signup.getByLabel('E-mail').fill(email);
  await signup.getByLabel('Password').fill('correct horse battery');
  await signup.getByRole('button', { name: 'Sign up' }).click();
  const verify = page.getByRole('form', { name: 'Confirm your e-mail' });
  await verify.getByLabel('Code').fill(await codeFor(gateway, email));
  await verify.getByRole('button', { name: 'Confirm' }).click();
  await page.getByText(`Signed in as ${name}`).waitFor();
  return { page, problems, cut, mend };
}

async function send(page, text) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
}

function messages(page) {
  return page.getByRole('list', { name: 'Messages' }).locator('li .text');
}

test('two people sign up through the page, find each other by name and chat both ways', async () => {
  const alice = await person('alice');
  const bob = await person('bob');

  // The page is served with a policy that allows only its own origin.
  const response = await alice.page.request.get(`${gateway.base}/`);
  assert.match(response.headers()['content-security-policy'], /default-src 'self'/);

  const direct = alice.page.getByRole('form', { name: 'Start a direct chat' });
  await direct.getByLabel('Chat with (username)').fill('BOB');
  await direct.getByRole('button', { name: 'Start' }).click();
  await alice.page.getByRole('heading', { name: 'bob' }).waitFor();
  await send(alice.page, 'hello bob');
  await messages(alice.page).filter({ hasText: 'hello bob' }).waitFor();

  // Bob sees the room appear with its unread message, opens it, answers.
  const room = bob.page.getByRole('button', { name: /alice/ });
  await room.waitFor();
  await room.click();
  await messages(bob.page).filter({ hasText: 'hello bob' }).waitFor();

  // Bob read it: Alice sees so.
  await alice.page.locator('#messages li', { hasText: 'hello bob' }).locator('.mark', { hasText: 'read' }).waitFor();

  await bob.page.getByLabel('Message', { exact: true }).pressSequentially('hi al');
  await alice.page.getByText('bob is typing…').waitFor();
  await bob.page.getByLabel('Message', { exact: true }).fill('hi alice');
  await bob.page.getByLabel('Message', { exact: true }).press('Enter');
  await messages(alice.page).filter({ hasText: 'hi alice' }).waitFor();

  // Markup from the other side is shown as the text it is.
  const markup = '<img src=x onerror=alert(1)> <b>bold?</b>';
  await send(alice.page, markup);
  await messages(bob.page).filter({ hasText: '<img src=x' }).waitFor();
  const shown = await messages(bob.page).last().textContent();
  assert.equal(shown, markup);
  assert.equal(await bob.page.locator('#messages img, #messages b').count(), 0);

  await alice.page.screenshot({ path: `${screenshots}/chat.png` });
  await bob.page.setViewportSize({ width: 390, height: 740 });
  await bob.page.screenshot({ path: `${screenshots}/chat-phone.png` });

  // Each side has every message once, in order.
  for (const side of [alice, bob]) {
    assert.deepEqual(await messages(side.page).allTextContents(), ['hello bob', 'hi alice', markup]);
    assert.deepEqual(side.problems, []);
  }
});

test('a name nobody has gets a clear error', async () => {
  const carol = await person('carol');
  const direct = carol.page.getByRole('form', { name: 'Start a direct chat' });
  await direct.getByLabel('Chat with (username)').fill('nobody');
  await direct.getByRole('button', { name: 'Start' }).click();
  await carol.page.getByRole('alert').filter({ hasText: 'There is no user called nobody.' }).waitFor();
});

test('a group of three chats, and a cut socket comes back with what it missed, once and in order', async () => {
  const dan = await person('dan', { cuttable: true });
  const eve = await person('eve');
  const fay = await person('fay');

  const group = dan.page.getByRole('form', { name: 'Create a group' });
  await group.getByLabel('Group name').fill('trio');
  await group.getByLabel('Members (usernames, comma-separated)').fill('eve, FAY');
  await group.getByRole('button', { name: 'Create' }).click();
  await dan.page.getByRole('heading', { name: 'trio' }).waitFor();
  await send(dan.page, 'welcome, both');
  for (const other of [eve, fay]) {
    const room = other.page.getByRole('button', { name: /trio/ });
    await room.waitFor();
    await room.click();
    await messages(other.page).filter({ hasText: 'welcome, both' }).waitFor();
  }
  // Read by both others: read.
  await dan.page.locator('#messages li', { hasText: 'welcome, both' }).locator('.mark', { hasText: 'read' }).waitFor();

  await dan.cut();
  await dan.page.getByText('Connection lost: reconnecting…').waitFor();
  // A draft typed while a message is on its way stays in the box.
  await eve.page.route(/\/messages\/$/, async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    const response = await route.fetch();
    await new Promise((r) => setTimeout(r, 500));
    return route.fulfill({ response });
  });
  const answered = eve.page.waitForResponse((r) => r.request().method() === 'POST' && /\/messages\/$/.test(r.url()));
  await send(eve.page, 'on its way');
  await eve.page.getByLabel('Message', { exact: true }).fill('a draft');
  await answered;
  await eve.page.evaluate(() => new Promise((r) => setTimeout(r, 100)));
  assert.equal(await eve.page.getByLabel('Message', { exact: true }).inputValue(), 'a draft');
  await eve.page.unroute(/\/messages\/$/);
  await eve.page.getByLabel('Message', { exact: true }).fill('');

  // Typed one after the other without waiting: each goes out, in order.
  for (const text of ['one', 'two', 'three']) await send(eve.page, text);
  await messages(eve.page).filter({ hasText: /^three$/ }).waitFor();
  assert.deepEqual(await messages(eve.page).allTextContents(), ['welcome, both', 'on its way', 'one', 'two', 'three']);
  await send(fay.page, 'four');
  await messages(fay.page).filter({ hasText: 'four' }).waitFor();
  dan.mend();
  await messages(dan.page).filter({ hasText: 'four' }).waitFor({ timeout: 40000 });
  await dan.page.getByText('Connected.').waitFor();
  assert.deepEqual(await messages(dan.page).allTextContents(), ['welcome, both', 'on its way', 'one', 'two', 'three', 'four']);
  // The browser reports the refused reconnects; nothing else went wrong.
  const unexpected = (side) => side.problems.filter((p) => !/WebSocket/.test(p));
  for (const side of [dan, eve, fay]) assert.deepEqual(unexpected(side), []);
});
