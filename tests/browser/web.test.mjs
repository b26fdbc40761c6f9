// The reference web client (web/, served by the gateway at /) driven the
// way people use it: two browser contexts are two people who sign up
// through the page (the code read from the gateway's console), find each
// other by username and chat both ways, with typing shown to the other
// side and markup from the other side shown as text.
//
// Run by `bash .ci/test-all` with the other browser tests.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
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
 * `cut()` drops them and refuses new ones until `mend()`. `server` is the
 * gateway they use.
 */
async function person(name, { cuttable = false, server = gateway } = {}) {
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
  await page.goto(`${server.base}/`);
  await page.setViewportSize({ width: 1100, height: 720 });
  if (name === 'alice') await page.screenshot({ path: `${screenshots}/sign-in.png` });
  const email = `${name}@example.com`;
  const signup = page.getByRole('form', { name: 'Sign up' });
  await signup.getByLabel('Username').fill(name);
  await signup.getByLabel('E-mail').fill(email);
  await signup.getByLabel('Password').fill('correct horse battery');
  await signup.getByRole('button', { name: 'Sign up' }).click();
  const verify = page.getByRole('form', { name: 'Confirm your e-mail' });
  await verify.getByLabel('Code').fill(await codeFor(server, email));
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
  // Both others are connected but have not opened the room: delivered (the
  // echo of Dan's message says whom it reached).
  await dan.page.locator('#messages li', { hasText: 'welcome, both' }).locator('.mark', { hasText: 'delivered' }).waitFor();
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

/** A PNG drawn by `page`'s canvas: a coloured disc with a letter. */
async function drawnPicture(page, letter, colour) {
  const data = await page.evaluate(({ letter, colour }) => {
    const canvas = document.createElement('canvas');
    canvas.width = 96;
    canvas.height = 96;
    const g = canvas.getContext('2d');
    g.fillStyle = colour;
    g.beginPath();
    g.arc(48, 48, 46, 0, 2 * Math.PI);
    g.fill();
    g.fillStyle = '#fff';
    g.font = 'bold 56px sans-serif';
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText(letter, 48, 52);
    return canvas.toDataURL('image/png').split(',')[1];
  }, { letter, colour });
  return Buffer.from(data, 'base64');
}

/** Whether the image `locator` points at loaded (the browser decoded it). */
async function loaded(locator) {
  await locator.waitFor();
  await locator.page().waitForFunction((img) => img.complete && img.naturalWidth > 0, await locator.elementHandle());
  return true;
}

async function directChat(from, to) {
  const direct = from.page.getByRole('form', { name: 'Start a direct chat' });
  await direct.getByLabel('Chat with (username)').fill(to);
  await direct.getByRole('button', { name: 'Start' }).click();
  await from.page.getByRole('heading', { name: to }).waitFor();
}

test('a picture set in the profile shows to the other side, and the rooms list follows presence', async () => {
  const gina = await person('gina');
  const hank = await person('hank');

  await gina.page.getByRole('button', { name: 'Profile' }).click();
  const dialog = gina.page.getByRole('dialog', { name: 'Your profile' });
  await dialog.getByLabel('First name').fill('Gina');
  await dialog.getByLabel('About you').fill('Plays the <b>drums</b>');
  await dialog.getByLabel(/^Picture/).setInputFiles({
    name: 'gina.png',
    mimeType: 'image/png',
    buffer: await drawnPicture(gina.page, 'G', '#8250df'),
  });
  await dialog.getByRole('button', { name: 'Save profile' }).click();
  await gina.page.getByText('Profile saved.').waitFor();
  assert.ok(await loaded(dialog.getByRole('img', { name: 'Your picture' })));
  await dialog.getByRole('button', { name: 'Close' }).click();

  // A file that is not an image is refused with the server's words.
  await gina.page.getByRole('button', { name: 'Profile' }).click();
  await dialog.getByLabel(/^Picture/).setInputFiles({ name: 'x.png', mimeType: 'image/png', buffer: Buffer.from('not a picture') });
  await dialog.getByRole('button', { name: 'Save profile' }).click();
  await gina.page.getByRole('alert').filter({ hasText: /profile_picture: Upload a valid image/ }).waitFor();
  await dialog.getByRole('button', { name: 'Close' }).click();

  await directChat(hank, 'gina');
  await send(hank.page, 'hi gina');
  const room = hank.page.locator('#rooms').getByRole('button', { name: /^gina/ });
  await room.filter({ hasText: 'online' }).waitFor();
  await gina.page.locator('#rooms').getByRole('button', { name: /^hank/ }).click();
  await send(gina.page, 'hello hank');

  await hank.page.getByRole('button', { name: 'Members' }).click();
  const panel = hank.page.getByRole('region', { name: 'Members of this room' });
  assert.ok(await loaded(panel.getByRole('img', { name: "gina's picture" })));
  await panel.getByText('member, online').first().waitFor();
  // Her messages carry her picture too.
  assert.ok(await loaded(hank.page.locator('#messages li', { hasText: 'hello hank' }).locator('img.avatar')));
  await hank.page.screenshot({ path: `${screenshots}/members.png` });

  // Gina goes away: Hank's list and the room say when she was last seen.
  await gina.page.context().close();
  await room.filter({ hasText: 'last seen' }).waitFor();
  await panel.getByText(/member, last seen/).waitFor();
  assert.deepEqual(hank.problems, []);
});

test('edits, deletions, reactions and attachments reach the other side, live and after a reconnect', async () => {
  const ivy = await person('ivy');
  const jack = await person('jack', { cuttable: true });
  await directChat(ivy, 'jack');
  await send(ivy.page, 'first draft');
  await jack.page.locator('#rooms').getByRole('button', { name: /^ivy/ }).click();
  const jackSees = (text) => messages(jack.page).filter({ hasText: text });
  await jackSees('first draft').waitFor();

  // Edit: the sender's own message, by keyboard.
  const draftId = await ivy.page.locator('#messages li', { hasText: 'first draft' }).getAttribute('data-id');
  const mine = ivy.page.locator(`#messages li[data-id="${draftId}"]`);
  await mine.getByRole('button', { name: 'Edit message' }).click();
  await ivy.page.getByLabel('New text').fill('final text');
  await ivy.page.getByLabel('New text').press('Enter');
  await jackSees('final text').waitFor();
  await jack.page.locator('#messages li', { hasText: 'final text' }).getByText('(edited)').waitFor();
  // Only the sender may edit.
  assert.equal(await jack.page.locator('#messages li', { hasText: 'final text' }).getByRole('button', { name: 'Edit message' }).count(), 0);

  // Reactions: Jack's shows to Ivy, hers joins his.
  const theirs = jack.page.locator('#messages li', { hasText: 'final text' });
  await theirs.getByLabel('Add a reaction').click();
  await theirs.getByRole('button', { name: 'React with 👍' }).click();
  await theirs.getByRole('button', { name: '👍 1: take back your reaction' }).waitFor();
  await mine.getByRole('button', { name: '👍 1: react too' }).click();
  await mine.getByRole('button', { name: '👍 2: take back your reaction' }).waitFor();
  await theirs.getByRole('button', { name: '👍 2: take back your reaction' }).waitFor();

  // Attachments: a picture and a text file, uploaded then named by the message.
  await ivy.page.getByLabel('Attach files').setInputFiles([
    { name: 'photo.png', mimeType: 'image/png', buffer: await drawnPicture(ivy.page, 'P', '#cf222e') },
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('bring snacks\n') },
  ]);
  await send(ivy.page, 'a photo and notes');
  const carried = jack.page.locator('#messages li', { hasText: 'a photo and notes' });
  assert.ok(await loaded(carried.getByRole('img', { name: 'photo.png' })));
  await carried.getByRole('link', { name: 'notes.txt (1 KB)' }).waitFor();
  const download = jack.page.waitForEvent('download');
  await carried.getByRole('link', { name: 'notes.txt (1 KB)' }).click();
  const file = await download;
  assert.equal(file.suggestedFilename(), 'notes.txt');
  assert.equal((await readFile(await file.path())).toString(), 'bring snacks\n');
  await ivy.page.screenshot({ path: `${screenshots}/chat-features.png` });

  // Delete: two steps; the message keeps its place without its text.
  await mine.getByRole('button', { name: 'Delete message' }).click();
  await mine.getByRole('button', { name: 'Delete message' }).click();
  await jack.page.locator('#messages li.deleted').getByText('(deleted)').waitFor();
  assert.deepEqual(await messages(jack.page).allTextContents(), ['(deleted)', 'a photo and notes']);

  // While Jack's socket is cut, Ivy edits and reacts: he gets both once back.
  await jack.cut();
  await jack.page.getByText('Connection lost: reconnecting…').waitFor();
  const photoId = await ivy.page.locator('#messages li', { hasText: 'a photo and notes' }).getAttribute('data-id');
  const photo = ivy.page.locator(`#messages li[data-id="${photoId}"]`);
  await photo.getByRole('button', { name: 'Edit message' }).click();
  await ivy.page.getByLabel('New text').fill('a photo, notes attached');
  await ivy.page.getByRole('button', { name: 'Save' }).click();
  await photo.getByLabel('Add a reaction').click();
  await photo.getByRole('button', { name: 'React with 🎉' }).click();
  await photo.getByRole('button', { name: '🎉 1: take back your reaction' }).waitFor();
  jack.mend();
  const caught = jack.page.locator('#messages li', { hasText: 'a photo, notes attached' });
  await caught.getByRole('button', { name: '🎉 1: react too' }).waitFor({ timeout: 40000 });
  assert.deepEqual(await messages(jack.page).allTextContents(), ['(deleted)', 'a photo, notes attached']);
  const unexpected = (side) => side.problems.filter((p) => !/WebSocket/.test(p));
  for (const side of [ivy, jack]) assert.deepEqual(unexpected(side), []);
});

test('an admin adds, promotes and removes members, and the page works by keyboard on a phone-sized screen', async () => {
  const kim = await person('kim');
  const leo = await person('leo');
  const max = await person('max');

  const group = kim.page.getByRole('form', { name: 'Create a group' });
  await group.getByLabel('Group name').fill('crew');
  await group.getByLabel('Members (usernames, comma-separated)').fill('leo');
  await group.getByRole('button', { name: 'Create' }).click();
  await kim.page.getByRole('heading', { name: 'crew' }).waitFor();
  await kim.page.getByRole('button', { name: 'Members' }).click();
  const panel = kim.page.getByRole('region', { name: 'Members of this room' });
  const add = panel.getByRole('form', { name: 'Add a member' });
  await add.getByLabel('Add (username)').fill('max');
  await add.getByRole('button', { name: 'Add' }).click();
  await panel.getByRole('button', { name: 'Remove max' }).waitFor();
  await send(kim.page, 'welcome max');
  await max.page.locator('#rooms').getByRole('button', { name: /^crew/ }).click();
  await messages(max.page).filter({ hasText: 'welcome max' }).waitFor();

  // Leo is made an admin: his page now offers him the admin's controls.
  await panel.getByLabel('Role of leo').selectOption('admin');
  await panel.locator('li', { hasText: 'leo' }).locator('.about', { hasText: /^admin/ }).waitFor();
  await leo.page.locator('#rooms').getByRole('button', { name: /^crew/ }).click();
  await leo.page.getByRole('button', { name: 'Members' }).click();
  await leo.page.getByRole('region', { name: 'Members of this room' }).getByRole('button', { name: 'Remove max' }).waitFor();
  // Max is no admin: no such controls for him.
  await max.page.getByRole('button', { name: 'Members' }).click();
  await max.page.getByRole('region', { name: 'Members of this room' }).getByText('leo').waitFor();
  assert.equal(await max.page.getByRole('button', { name: /^Remove/ }).count(), 0);

  // Removed, Max can no longer write there, and is told so.
  await panel.getByRole('button', { name: 'Remove max' }).click();
  await panel.getByRole('button', { name: 'Remove max' }).waitFor({ state: 'detached' });
  await send(max.page, 'still here?');
  await max.page.getByRole('alert').filter({ hasText: 'You are no longer a member of this room.' }).waitFor();
  assert.equal(await messages(kim.page).filter({ hasText: 'still here?' }).count(), 0);

  // A phone-sized window: nothing needs sideways scrolling, and a message is
  // typed and sent with the keyboard alone.
  await leo.page.setViewportSize({ width: 390, height: 844 });
  const width = await leo.page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `the page is ${width} px wide`);
  await leo.page.getByLabel('Message', { exact: true }).focus();
  await leo.page.keyboard.type('from my phone');
  await leo.page.keyboard.press('Enter');
  await messages(kim.page).filter({ hasText: 'from my phone' }).waitFor();
  // Every control a person can reach has a name a screen reader reads out.
  const unnamed = await leo.page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button, summary, a')]
    .filter((el) => el.getClientRects().length > 0)
    .filter((el) => {
      const label = el.getAttribute('aria-label') || [...(el.labels ?? [])].map((l) => l.textContent).join('') || el.textContent;
      return !label.trim();
    })
    .map((el) => el.outerHTML));
  assert.deepEqual(unnamed, []);
  for (const side of [kim, leo, max]) {
    assert.deepEqual(side.problems.filter((p) => !/status of 404/.test(p)), []);
  }
});

test('a person is told when they send too fast, and when their session was ended elsewhere', async () => {
  const strict = await startGateway({ SEND_MAX_PER_MINUTE: '3' });
  try {
    const nia = await person('nia', { server: strict });
    await person('oto', { server: strict });
    await directChat(nia, 'oto');
    for (const text of ['m1', 'm2', 'm3']) await send(nia.page, text);
    await messages(nia.page).filter({ hasText: 'm3' }).waitFor();
    await send(nia.page, 'one too many');
    await nia.page.getByRole('alert').filter({ hasText: /^Too many requests: try again in \d+ seconds\.$/ }).waitFor();
    // The text is given back, to send again later.
    assert.equal(await nia.page.getByLabel('Message', { exact: true }).inputValue(), 'one too many');
    assert.equal(await messages(nia.page).filter({ hasText: 'one too many' }).count(), 0);

    // Signed out elsewhere (this session's refresh token revoked): the page
    // says so and shows the sign-in form.
    const tokens = await nia.page.evaluate(() => JSON.parse(localStorage.getItem('chat.tokens')));
    const res = await fetch(`${strict.base}/api/users/logout/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.access}` },
      body: JSON.stringify({ refresh: tokens.refresh }),
    });
    assert.equal(res.status, 200);
    await nia.page.getByRole('alert').filter({ hasText: 'Your session has ended: please sign in again.' }).waitFor();
    await nia.page.getByRole('form', { name: 'Sign in' }).waitFor();
    assert.equal(await nia.page.evaluate(() => localStorage.getItem('chat.tokens')), null);
  } finally {
    strict.process.kill('SIGTERM');
  }
});

test('two tabs of one person share the session: tokens rotated in one are taken by the other, and signing out signs both out', async () => {
  // Access tokens live 6 s, and a spent refresh token presented more than
  // 1 s later ends the session: a tab must not present one the other tab
  // already rotated.
  const brisk = await startGateway({ ACCESS_TOKEN_TTL_SECS: '6', REFRESH_GRACE_SECS: '1' });
  try {
    const pia = await person('pia', { server: brisk, cuttable: true });
    await person('quin', { server: brisk });
    await directChat(pia, 'quin');
    const second = await pia.page.context().newPage();
    const problems = [];
    second.on('pageerror', (error) => problems.push(String(error)));
    await second.goto(`${brisk.base}/`);
    await second.getByText('Signed in as pia').waitFor();
    await second.locator('#rooms').getByRole('button', { name: /^quin/ }).click();
    await second.getByText('Connected.').waitFor();

    // The first tab loses its socket; its reconnect rotates the tokens.
    const rotated = pia.page.waitForResponse((r) => r.url().endsWith('/api/users/token/refresh/') && r.ok());
    await pia.cut();
    await rotated;
    pia.mend();
    // The second tab's socket then expires with the old access token.
    await new Promise((r) => setTimeout(r, 7000));
    await send(pia.page, 'from the first tab');
    await send(second, 'from the second tab');
    for (const tab of [pia.page, second]) {
      await messages(tab).filter({ hasText: 'from the second tab' }).waitFor();
      await messages(tab).filter({ hasText: 'from the first tab' }).waitFor();
      assert.equal(await tab.getByText('Your session has ended').count(), 0);
    }

    await pia.page.getByRole('button', { name: 'Sign out' }).click();
    await second.getByRole('alert').filter({ hasText: 'You signed out in another tab.' }).waitFor();
    await second.getByRole('form', { name: 'Sign in' }).waitFor();
    assert.deepEqual(problems, []);
  } finally {
    brisk.process.kill('SIGTERM');
  }
});
