// The reference web client: plain JavaScript, no build step, no other host.
// What it shows a developer: tokens kept and rotated, one socket for all
// rooms that reconnects with back-off and catches up by seq (nothing
// missing, nothing doubled), sends made idempotent by a client_id, and
// every text from other people rendered as text, never as HTML.
'use strict';

const config = window.CHAT_CONFIG || {};
const API = config.apiBase || '';
const WS_URL = config.wsUrl || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/`;
const PAGE = 50;

const $ = (id) => document.getElementById(id);

const state = {
  tokens: loadTokens(),
  me: null,
  rooms: [],
  /** The open room: { id, title, lastSeq, lastChange, next, messages: id → message, members, … } */
  open: null,
  socket: null,
  backoff: 500,
  reconnectTimer: null,
  typingSentAt: 0,
  typingTimer: null,
  pendingSend: null, // { text, clientId } of a send that failed, for its retry
  /** What the page knows of users' presence: id → { online, last_seen } */
  presence: new Map(),
  peersStale: false, // re-read direct rooms' other members (after a reconnect)
  roomsTimer: null,
};

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function loadTokens() {
  try {
    return JSON.parse(localStorage.getItem('chat.tokens'));
  } catch {
    return null;
  }
}

function saveTokens(tokens) {
  state.tokens = tokens;
  if (tokens) localStorage.setItem('chat.tokens', JSON.stringify(tokens));
  else localStorage.removeItem('chat.tokens');
}

function setError(message) {
  $('error').textContent = message || '';
}

function setStatus(message) {
  $('status').textContent = message || '';
}

/** A readable sentence for a failed answer. */
function describe(res, data) {
  if (res.status === 429) {
    return `Too many requests: try again in ${res.headers.get('retry-after') || 'a few'} seconds.`;
  }
  if (data && typeof data.detail === 'string') return data.detail;
  if (data && typeof data === 'object') {
    return Object.entries(data)
      .map(([field, problems]) => `${field}: ${[].concat(problems).join(' ')}`)
      .join(' ');
  }
  return `The request failed (${res.status}).`;
}

let refreshing = null;

/**
 * Rotates the refresh token once, however many calls find the access token
 * expired: 'ok', 'refused' (the session is over) or 'offline' (try later).
 * Tabs share the tokens (localStorage) and take turns (a Web Lock), so a
 * tab that finds them rotated by another takes the new pair instead of
 * presenting a spent refresh token, which would end the session.
 */
function refreshTokens() {
  if (!refreshing) {
    const spent = state.tokens?.access;
    const rotate = async () => {
      const stored = loadTokens();
      if (!stored) return 'refused';
      if (stored.access !== spent) {
        state.tokens = stored;
        return 'ok';
      }
      try {
        const res = await fetch(`${API}/api/users/token/refresh/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refresh: stored.refresh }),
        });
        if (res.status >= 500 || res.status === 429) return 'offline';
        if (!res.ok) return 'refused';
        const data = await res.json();
        saveTokens({ access: data.access, refresh: data.refresh });
        return 'ok';
      } catch {
        return 'offline';
      }
    };
    refreshing = (navigator.locks ? navigator.locks.request('chat.tokens', rotate) : rotate()).finally(() => {
      setTimeout(() => {
        refreshing = null;
      }, 0);
    });
  }
  return refreshing;
}

// Another tab signed in, rotated the tokens or signed out.
window.addEventListener('storage', (event) => {
  if (event.key !== 'chat.tokens' && event.key !== null) return;
  const stored = loadTokens();
  if (!stored && state.me) {
    signedOut('You signed out in another tab.');
  } else if (stored) {
    state.tokens = stored;
    if (!state.me) start().catch((error) => setError(error.message));
  }
});

/** Calls the API; refreshes the session once on a 401. */
async function api(method, path, body, { auth = true, retried = false } = {}) {
  const headers = {};
  // A FormData body goes as multipart: the browser sets its content type.
  const form = body instanceof FormData;
  if (body !== undefined && !form) headers['content-type'] = 'application/json';
  if (auth && state.tokens) headers.authorization = `Bearer ${state.tokens.access}`;
  let res;
  try {
    res = await fetch(API + path, {
      method,
      headers,
      body: body === undefined || form ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Check your connection.');
  }
  if (res.status === 401 && auth && state.tokens && !retried) {
    const refreshed = await refreshTokens();
    if (refreshed === 'ok') return api(method, path, body, { auth, retried: true });
    if (refreshed === 'offline') throw new ApiError(0, 'The server cannot be reached. Check your connection.');
    signedOut('Your session has ended: please sign in again.');
    throw new ApiError(401, 'Your session has ended.');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, describe(res, data));
  return data;
}

/** Runs an action from a form; shows its error instead of throwing. */
function guarded(action) {
  return async (event) => {
    event?.preventDefault();
    setError('');
    try {
      await action(event);
    } catch (error) {
      setError(error.message);
    }
  };
}

// ---------------------------------------------------------------- sign-in

function showAuth() {
  $('auth').hidden = false;
  $('app').hidden = true;
  $('logout').hidden = true;
  $('profile-open').hidden = true;
  $('whoami').textContent = '';
}

function signedOut(message) {
  saveTokens(null);
  state.me = null;
  state.rooms = [];
  state.presence.clear();
  clearTimeout(state.roomsTimer);
  clearTimeout(readTimer);
  closeRoom();
  if ($('profile').open) $('profile').close();
  closeSocket();
  showAuth();
  if (message) setError(message);
}

$('signup').addEventListener('submit', guarded(async (event) => {
  const form = event.target;
  const email = form.email.value.trim();
  await api('POST', '/api/users/register/', {
    username: form.username.value.trim(),
    email,
    password: form.password.value,
  }, { auth: false });
  $('verify-email').textContent = email;
  $('verify').dataset.email = email;
  $('verify').dataset.password = form.password.value;
  $('verify').hidden = false;
  $('verify').otp.focus();
  setStatus('Account created: enter the code we sent you.');
}));

$('verify').addEventListener('submit', guarded(async (event) => {
  const form = event.target;
  await api('POST', '/api/users/verify-email/', {
    email: form.dataset.email,
    otp: form.otp.value.trim(),
  }, { auth: false });
  await signIn(form.dataset.email, form.dataset.password);
  delete form.dataset.password;
  form.hidden = true;
}));

$('signin').addEventListener('submit', guarded(async (event) => {
  const form = event.target;
  await signIn(form.email.value.trim(), form.password.value);
}));

async function signIn(email, password) {
  const tokens = await api('POST', '/api/users/token/', { email, password }, { auth: false });
  saveTokens(tokens);
  await start();
}

$('logout').addEventListener('click', guarded(async () => {
  const refresh = state.tokens?.refresh;
  try {
    if (refresh) await api('POST', '/api/users/logout/', { refresh });
  } finally {
    signedOut('');
    setStatus('Signed out.');
  }
}));

// ---------------------------------------------------------------- rooms

async function start() {
  state.me = await api('GET', '/api/users/profile/');
  showMe();
  $('auth').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  $('profile-open').hidden = false;
  await loadRooms();
  connect();
}

function showMe() {
  $('whoami').textContent = `Signed in as ${state.me.username}`;
}

function roomTitle(room) {
  return room.name || room.title || 'Direct chat';
}

/** What the page knows of a user's presence: `online`, or when last seen. */
function presenceText(userId) {
  const known = state.presence.get(userId);
  if (!known) return '';
  if (known.online) return 'online';
  return known.last_seen ? `last seen ${new Date(known.last_seen).toLocaleString()}` : 'offline';
}

function notePresence(user) {
  state.presence.set(user.id, { online: user.is_online, last_seen: user.last_seen });
}

async function loadRooms() {
  const rooms = await api('GET', '/api/chat/rooms/');
  const stale = state.peersStale;
  state.peersStale = false;
  // A direct room has no name: title it with the other participant, whose
  // presence the list shows (then kept current by `presence` events).
  await Promise.all(rooms.filter((r) => r.type === 'direct').map(async (room) => {
    const known = state.rooms.find((r) => r.id === room.id && r.peer);
    if (known && !stale) {
      room.peer = known.peer;
      return;
    }
    const detail = await api('GET', `/api/chat/rooms/${room.id}/`);
    const other = detail.members.find((m) => m.user.id !== state.me.id);
    if (other) {
      room.peer = { id: other.user.id, username: other.user.username };
      notePresence(other.user);
    }
  }));
  for (const room of rooms) room.title = room.peer?.username;
  state.rooms = rooms;
  renderRooms();
}

/** Reloads the rooms list soon (several events in a row make one request). */
function roomsChanged() {
  clearTimeout(state.roomsTimer);
  state.roomsTimer = setTimeout(() => loadRooms().catch((e) => setError(e.message)), 150);
}

function renderRooms() {
  const list = $('rooms');
  list.replaceChildren();
  for (const room of state.rooms) {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.room = room.id;
    if (state.open?.id === room.id) button.setAttribute('aria-current', 'true');
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = roomTitle(room);
    if (room.peer) {
      const presence = document.createElement('span');
      const text = presenceText(room.peer.id);
      presence.className = `presence${text === 'online' ? ' online' : ''}`;
      presence.textContent = text;
      name.append(' ', presence);
    }
    if (room.muted) name.append(' (muted)');
    const last = document.createElement('span');
    last.className = 'last';
    if (room.last_message) {
      last.textContent = `${room.last_message.sender.username}: ${room.last_message.message}`;
    }
    name.append(last);
    button.append(name);
    const unread = room.id === state.open?.id ? 0 : room.unread_count;
    if (unread > 0) {
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.textContent = String(unread);
      badge.setAttribute('aria-label', `${unread} unread`);
      button.append(badge);
    }
    button.addEventListener('click', guarded(() => openRoom(room.id)));
    item.append(button);
    list.append(item);
  }
}

async function lookup(username) {
  try {
    return await api('GET', `/api/users/lookup/?username=${encodeURIComponent(username)}`);
  } catch (error) {
    if (error.status === 404) throw new ApiError(404, `There is no user called ${username}.`);
    throw error;
  }
}

$('new-direct').addEventListener('submit', guarded(async (event) => {
  const form = event.target;
  const user = await lookup(form.username.value.trim());
  const room = await api('POST', `/api/chat/direct-chat/${user.id}/`, {});
  form.reset();
  await loadRooms();
  await openRoom(room.id);
}));

$('new-group').addEventListener('submit', guarded(async (event) => {
  const form = event.target;
  const names = form.members.value.split(',').map((n) => n.trim()).filter(Boolean);
  const members = [];
  for (const name of names) members.push((await lookup(name)).id);
  const room = await api('POST', '/api/chat/rooms/', {
    type: 'group',
    name: form.name.value.trim(),
    members,
  });
  form.reset();
  await loadRooms();
  await openRoom(room.id);
}));

// ---------------------------------------------------------------- profile

function showProfile() {
  const me = state.me;
  const form = $('profile-form');
  form.username.value = me.username;
  form.first_name.value = me.first_name || '';
  form.last_name.value = me.last_name || '';
  form.bio.value = me.bio || '';
  form.profile_picture.value = '';
  const picture = $('profile-picture');
  picture.hidden = !me.profile_picture;
  if (me.profile_picture) picture.src = me.profile_picture;
}

$('profile-open').addEventListener('click', () => {
  showProfile();
  $('profile').showModal();
});

$('profile-close').addEventListener('click', () => $('profile').close());

$('profile-form').addEventListener('submit', guarded(async (event) => {
  const form = event.target;
  // Multipart, as the seed's clients send it: the fields and the picture.
  const body = new FormData();
  for (const field of ['username', 'first_name', 'last_name', 'bio']) body.append(field, form[field].value.trim());
  const file = form.profile_picture.files[0];
  if (file) body.append('profile_picture', file);
  state.me = await api('PATCH', '/api/users/profile/', body);
  showMe();
  showProfile();
  setStatus('Profile saved.');
}));

// ---------------------------------------------------------------- a room

async function openRoom(id) {
  const room = state.rooms.find((r) => r.id === id);
  state.open = {
    id,
    title: room ? roomTitle(room) : '',
    lastSeq: 0,
    lastChange: 0,
    next: null,
    messages: new Map(),
    members: new Map(),
    myRole: 'member',
    kind: room?.type ?? 'group',
    muted: Boolean(room?.muted),
    others: [],
    // Per other member: how far their read and delivered marks reached.
    read: new Map(),
    delivered: new Map(),
  };
  $('chat').hidden = false;
  $('chat-title').textContent = state.open.title;
  $('messages').replaceChildren();
  $('typing').textContent = '';
  const [detail, page] = await Promise.all([
    api('GET', `/api/chat/rooms/${id}/`),
    api('GET', `/api/chat/rooms/${id}/messages/?limit=${PAGE}`),
  ]);
  if (state.open?.id !== id) return;
  showDetail(detail);
  for (const message of [...page.results].reverse()) addMessage(fromHistory(message));
  state.open.next = page.next;
  $('older').hidden = !page.next;
  renderRooms();
  markRead();
  $('compose-text').focus();
}

/** Takes in the room's detail: members, roles, presence, mute. */
function showDetail(detail) {
  const open = state.open;
  open.kind = detail.type;
  open.myRole = detail.my_role;
  open.muted = detail.muted;
  open.members = new Map(detail.members.map((m) => [m.user.id, m]));
  for (const m of detail.members) notePresence(m.user);
  open.others = detail.members.map((m) => m.user.id).filter((u) => u !== state.me.id);
  $('leave').hidden = open.kind !== 'group';
  $('mute').setAttribute('aria-pressed', String(open.muted));
  $('mute').textContent = open.muted ? 'Unmute' : 'Mute';
  showChatPresence();
  renderMembers();
}

async function reloadDetail() {
  const open = state.open;
  if (!open) return;
  const detail = await api('GET', `/api/chat/rooms/${open.id}/`);
  if (state.open === open) showDetail(detail);
}

function showChatPresence() {
  const open = state.open;
  const other = open?.kind === 'direct' ? open.others[0] : null;
  $('chat-presence').textContent = other ? presenceText(other) : `${open?.members.size ?? 0} members`;
}

function renderMembers() {
  const open = state.open;
  const list = $('members');
  list.replaceChildren();
  const admin = open.myRole === 'admin' && open.kind === 'group';
  for (const member of open.members.values()) {
    const { user } = member;
    const item = document.createElement('li');
    item.append(avatar(user, `${user.username}'s picture`));
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = user.id === state.me.id ? `${user.username} (you)` : user.username;
    const about = document.createElement('span');
    about.className = 'about';
    about.textContent = [member.role, presenceText(user.id)].filter(Boolean).join(', ');
    item.append(name, ' ', about);
    if (admin && user.id !== state.me.id) {
      const role = document.createElement('select');
      role.setAttribute('aria-label', `Role of ${user.username}`);
      for (const value of ['member', 'admin']) role.add(new Option(value, value, false, value === member.role));
      role.addEventListener('change', guarded(async () => {
        await api('PATCH', `/api/chat/rooms/${open.id}/members/${user.id}/`, { role: role.value });
        await reloadDetail();
      }));
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = `Remove ${user.username}`;
      remove.addEventListener('click', guarded(async () => {
        await api('DELETE', `/api/chat/rooms/${open.id}/members/${user.id}/`);
        await reloadDetail();
      }));
      item.append(' ', role, ' ', remove);
    }
    list.append(item);
  }
  $('add-member').hidden = !admin;
}

/** A user's picture, or their initial when they have none. */
function avatar(user, alt) {
  if (user?.profile_picture) {
    const img = document.createElement('img');
    img.className = 'avatar';
    img.src = user.profile_picture;
    img.alt = alt;
    return img;
  }
  const initial = document.createElement('span');
  initial.className = 'avatar';
  initial.setAttribute('aria-hidden', 'true');
  initial.textContent = (user?.username || '?').slice(0, 1).toUpperCase();
  return initial;
}

$('members-toggle').addEventListener('click', guarded(async () => {
  const panel = $('members-panel');
  panel.hidden = !panel.hidden;
  $('members-toggle').setAttribute('aria-expanded', String(!panel.hidden));
  if (!panel.hidden) await reloadDetail();
}));

$('add-member').addEventListener('submit', guarded(async (event) => {
  const form = event.target;
  const open = state.open;
  const user = await lookup(form.username.value.trim());
  await api('POST', `/api/chat/rooms/${open.id}/members/`, { user_id: user.id, role: form.role.value });
  form.reset();
  await reloadDetail();
}));

$('mute').addEventListener('click', guarded(async () => {
  const open = state.open;
  const answer = await api('PUT', `/api/chat/rooms/${open.id}/mute/`, { muted: !open.muted });
  open.muted = answer.muted;
  $('mute').setAttribute('aria-pressed', String(open.muted));
  $('mute').textContent = open.muted ? 'Unmute' : 'Mute';
  roomsChanged();
}));

$('leave').addEventListener('click', guarded(async () => {
  const open = state.open;
  await api('POST', `/api/chat/rooms/${open.id}/leave/`, {});
  closeRoom();
  setStatus(`You left ${open.title}.`);
  await loadRooms();
}));

function closeRoom() {
  state.open = null;
  $('chat').hidden = true;
  $('members-panel').hidden = true;
  $('members-toggle').setAttribute('aria-expanded', 'false');
}

$('older').addEventListener('click', guarded(async () => {
  const open = state.open;
  if (!open?.next) return;
  const page = await api(
    'GET',
    `/api/chat/rooms/${open.id}/messages/?limit=${PAGE}&before=${encodeURIComponent(open.next)}`,
  );
  const list = $('messages');
  const first = list.firstChild;
  for (const message of [...page.results].reverse()) {
    if (open.messages.has(message.id)) continue;
    const m = fromHistory(message);
    open.messages.set(m.id, m);
    open.lastChange = Math.max(open.lastChange, m.change);
    list.insertBefore(renderMessage(m), first);
  }
  open.next = page.next;
  $('older').hidden = !page.next;
}));

/** A history message in the shape of a `message` event. */
function fromHistory(m) {
  return {
    id: m.id,
    room_id: m.room,
    message: m.message,
    sender: m.sender.username,
    sender_id: m.sender.id,
    timestamp: m.timestamp,
    seq: m.seq,
    deleted: m.deleted,
    status: m.status,
    edited_at: m.edited_at,
    change: m.change,
    reactions: m.reactions,
    attachments: m.attachments,
  };
}

const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];

function button(label, onClick, { name, className } = {}) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (name) b.setAttribute('aria-label', name);
  if (className) b.className = className;
  b.addEventListener('click', guarded(onClick));
  return b;
}

function renderMessage(m) {
  const open = state.open;
  const item = document.createElement('li');
  item.dataset.id = m.id;
  item.dataset.seq = String(m.seq);
  const mine = m.sender_id === state.me?.id;
  item.append(avatar(open?.members.get(m.sender_id)?.user ?? { username: m.sender }, ''));
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = m.sender;
  const text = document.createElement('span');
  text.className = 'text';
  // Always text: whatever anyone sends is shown as they typed it.
  text.textContent = m.deleted ? '(deleted)' : m.message;
  if (m.deleted) item.classList.add('deleted');
  const meta = document.createElement('span');
  meta.className = 'meta';
  const time = document.createElement('time');
  time.dateTime = m.timestamp;
  time.textContent = new Date(m.timestamp).toLocaleTimeString();
  meta.append(time);
  if (m.edited_at && !m.deleted) meta.append(' (edited)');
  if (mine) {
    const mark = document.createElement('span');
    mark.className = 'mark';
    meta.append(' ', mark);
    item.dataset.status = m.status || 'sent';
    showMark(item);
  }
  item.append(who, text, meta);
  if (m.deleted) return item;

  if (m.attachments?.length) {
    const files = document.createElement('div');
    files.className = 'attachments';
    for (const file of m.attachments) files.append(renderAttachment(m, file));
    item.append(files);
  }

  const reactions = document.createElement('div');
  reactions.className = 'reactions';
  for (const r of m.reactions ?? []) {
    const b = button(`${r.emoji} ${r.count}`, () => react(m, r.emoji, !r.me), {
      name: `${r.emoji} ${r.count}: ${r.me ? 'take back your reaction' : 'react too'}`,
    });
    b.setAttribute('aria-pressed', String(r.me));
    reactions.append(b);
  }
  const palette = document.createElement('details');
  palette.className = 'palette';
  const summary = document.createElement('summary');
  summary.textContent = 'React';
  summary.setAttribute('aria-label', 'Add a reaction');
  palette.append(summary);
  for (const emoji of QUICK_REACTIONS) {
    palette.append(button(emoji, () => react(m, emoji, true), { name: `React with ${emoji}` }));
  }
  reactions.append(palette);
  if (mine) reactions.append(button('Edit', () => editMessage(item, m), { name: 'Edit message' }));
  if (mine || open?.myRole === 'admin') {
    reactions.append(button('Delete', (event) => deleteMessage(event.target, m), { name: 'Delete message' }));
  }
  item.append(reactions);
  return item;
}

function renderAttachment(m, file) {
  const path = `/api/chat/rooms/${m.room_id}/messages/${m.id}/attachments/${file.id}/`;
  if (file.content_type.startsWith('image/')) {
    const img = document.createElement('img');
    img.className = 'attachment';
    img.alt = file.filename;
    api('GET', path).then((found) => {
      img.src = found.url;
    }).catch((e) => setError(e.message));
    return img;
  }
  // The link is fetched when used: download URLs expire.
  const link = document.createElement('a');
  link.href = '#';
  link.className = 'file';
  link.textContent = `${file.filename} (${Math.ceil(file.size / 1024)} KB)`;
  link.addEventListener('click', guarded(async () => {
    const found = await api('GET', path);
    const a = document.createElement('a');
    a.href = found.url;
    a.download = file.filename;
    a.click();
  }));
  return link;
}

async function react(m, emoji, on) {
  const path = `/api/chat/rooms/${m.room_id}/messages/${m.id}/reactions/`;
  const answer = on
    ? await api('POST', path, { emoji })
    : await api('DELETE', `${path}?emoji=${encodeURIComponent(emoji)}`);
  updateMessage(fromHistory(answer));
}

function editMessage(item, m) {
  const form = document.createElement('form');
  form.className = 'edit';
  form.setAttribute('aria-label', 'Edit message');
  const box = document.createElement('textarea');
  box.value = m.message;
  box.setAttribute('aria-label', 'New text');
  box.rows = 2;
  const save = document.createElement('button');
  save.type = 'submit';
  save.textContent = 'Save';
  const text = item.querySelector('.text');
  const cancel = button('Cancel', () => {
    form.remove();
    text.hidden = false;
  });
  form.append(box, save, cancel);
  text.hidden = true;
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') cancel.click();
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', guarded(async () => {
    const answer = await api('PATCH', `/api/chat/rooms/${m.room_id}/messages/${m.id}/`, { message: box.value });
    updateMessage(fromHistory(answer));
  }));
  text.after(form);
  box.focus();
}

async function deleteMessage(control, m) {
  // Two steps, so that a stray click deletes nothing.
  if (control.dataset.armed !== 'true') {
    control.dataset.armed = 'true';
    control.textContent = 'Really delete?';
    setTimeout(() => {
      control.dataset.armed = 'false';
      control.textContent = 'Delete';
    }, 4000);
    return;
  }
  await api('DELETE', `/api/chat/rooms/${m.room_id}/messages/${m.id}/`);
  updateMessage({ ...m, deleted: true, message: '', reactions: [], attachments: [] });
}

/** Shows a message as it is now (after an edit, deletion or reaction). */
function updateMessage(m) {
  const open = state.open;
  if (!open || m.room_id !== open.id) return;
  open.lastChange = Math.max(open.lastChange, m.change ?? 0);
  const known = open.messages.get(m.id);
  const item = $('messages').querySelector(`li[data-id="${CSS.escape(m.id)}"]`);
  if (!known || !item) return;
  // A change never comes back in time: keep the newer one.
  if ((m.change ?? 0) < (known.change ?? 0)) return;
  const now = { ...known, ...m, status: item.dataset.status ?? known.status };
  open.messages.set(m.id, now);
  item.replaceWith(renderMessage(now));
}

const RANK = { sent: 0, delivered: 1, read: 2 };

/** Shows how far one of the user's own messages got. */
function showMark(item) {
  const mark = item.querySelector('.mark');
  if (mark) mark.textContent = item.dataset.status;
}

/** Whether every other member's furthest mark among `marks` reached `seq`. */
function allReached(seq, ...marks) {
  const others = state.open?.others ?? [];
  const furthest = (u) => Math.max(0, ...marks.map((m) => m.get(u) ?? 0));
  return others.length > 0 && others.every((u) => furthest(u) >= seq);
}

/** Moves the marks of the user's own messages after a receipt. */
function onReceipt(event) {
  const open = state.open;
  if (!open || event.room_id !== open.id) return;
  const marks = event.status === 'read' ? open.read : open.delivered;
  for (const user of event.user_ids) {
    if (user !== state.me?.id) marks.set(user, Math.max(marks.get(user) ?? 0, event.seq));
  }
  for (const item of $('messages').querySelectorAll('li[data-status]')) {
    const seq = Number(item.dataset.seq);
    let status = 'sent';
    if (allReached(seq, open.read)) status = 'read';
    else if (allReached(seq, open.read, open.delivered)) status = 'delivered';
    if (RANK[status] > RANK[item.dataset.status]) {
      item.dataset.status = status;
      showMark(item);
    }
  }
}

/** Adds a message of the open room once, in seq order. */
function addMessage(m) {
  const open = state.open;
  if (!open || m.room_id !== open.id || open.messages.has(m.id)) return;
  open.messages.set(m.id, m);
  open.lastChange = Math.max(open.lastChange, m.change ?? 0);
  const list = $('messages');
  const node = renderMessage(m);
  const later = [...list.children].find((li) => Number(li.dataset.seq) > m.seq);
  list.insertBefore(node, later || null);
  open.lastSeq = Math.max(open.lastSeq, m.seq);
  list.scrollTop = list.scrollHeight;
}

let readTimer = null;

/** Tells the server the open room is read up to its newest message. */
function markRead() {
  clearTimeout(readTimer);
  readTimer = setTimeout(() => {
    const open = state.open;
    const newest = $('messages').lastElementChild;
    if (!open || !newest || document.hidden) return;
    api('POST', `/api/chat/rooms/${open.id}/read/`, { message_id: newest.dataset.id })
      .catch((e) => setError(e.message));
  }, 200);
}

// Sends go out one after another, in the order they were typed; the box is
// cleared at once so the next message can be typed while one is on its way.
let sending = Promise.resolve();

/** Uploads `files` to the room; resolves to what a message names. */
async function upload(roomId, files) {
  const named = [];
  for (const file of files) {
    const slot = await api('POST', `/api/chat/rooms/${roomId}/attachments/`, {
      content_type: file.type || 'application/octet-stream',
      size: file.size,
    });
    let res;
    try {
      res = await fetch(slot.upload.url, { method: slot.upload.method, headers: slot.upload.headers, body: file });
    } catch {
      throw new ApiError(0, `${file.name} could not be uploaded. Check your connection.`);
    }
    if (!res.ok) throw new ApiError(res.status, `${file.name} could not be uploaded (${res.status}).`);
    named.push({ id: slot.id, filename: file.name });
  }
  return named;
}

$('compose').addEventListener('submit', (event) => {
  event.preventDefault();
  const open = state.open;
  const box = $('compose-text');
  const picker = $('compose-files');
  const text = box.value;
  const files = [...picker.files];
  if (!open || (!text.trim() && files.length === 0)) return;
  // A retry of the same text reuses its client_id: the server stores it once.
  const clientId = state.pendingSend?.text === text ? state.pendingSend.clientId : crypto.randomUUID();
  state.pendingSend = null;
  box.value = '';
  picker.value = '';
  sendFrame({ action: 'typing', room_id: open.id, is_typing: false });
  state.typingSentAt = 0;
  sending = sending.then(async () => {
    try {
      const body = { message: text, client_id: clientId };
      if (files.length) body.attachments = await upload(open.id, files);
      const sent = await api('POST', `/api/chat/rooms/${open.id}/messages/`, body);
      setError('');
      addMessage(fromHistory(sent));
    } catch (error) {
      // Give the text and files back (unless something new was typed) for a retry.
      state.pendingSend = { text, clientId };
      if (!box.value && state.open?.id === open.id) {
        box.value = text;
        const again = new DataTransfer();
        for (const file of files) again.items.add(file);
        picker.files = again.files;
      }
      setError(error.status === 404 ? 'You are no longer a member of this room.' : error.message);
    }
  });
});

$('compose-text').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    $('compose').requestSubmit();
  }
});

$('compose-text').addEventListener('input', () => {
  const open = state.open;
  if (!open) return;
  const now = Date.now();
  if (now - state.typingSentAt > 3000) {
    state.typingSentAt = now;
    sendFrame({ action: 'typing', room_id: open.id, is_typing: true });
  }
});

// ---------------------------------------------------------------- the socket

function sendFrame(frame) {
  if (state.socket?.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(frame));
}

function closeSocket() {
  clearTimeout(state.reconnectTimer);
  const socket = state.socket;
  state.socket = null;
  if (socket) socket.close();
}

/** One socket for all the user's rooms; reconnects with back-off. */
function connect() {
  if (!state.tokens) return;
  const socket = new WebSocket(`${WS_URL}?token=${encodeURIComponent(state.tokens.access)}`);
  state.socket = socket;
  let opened = false;
  socket.addEventListener('open', () => {
    opened = true;
    state.backoff = 500;
    setStatus('Connected.');
    // Whatever happened while the socket was down: catch up on messages and
    // on edits, deletions and reactions; presence may have moved too.
    if (state.open) syncOpenRoom(state.open.lastSeq, state.open.lastChange);
    state.peersStale = true;
    roomsChanged();
    if (state.open) reloadDetail().catch((e) => setError(e.message));
  });
  socket.addEventListener('message', (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    onEvent(data);
  });
  socket.addEventListener('close', (event) => {
    if (state.socket !== socket) return; // closed on purpose
    state.socket = null;
    setStatus('Connection lost: reconnecting…');
    const wait = state.backoff;
    state.backoff = Math.min(state.backoff * 2, 30000);
    // 1008: the token expired or the session ended; a refusal before the
    // socket opened may be the same. Rotate the tokens first then.
    const tokenTrouble = event.code === 1008 || !opened;
    state.reconnectTimer = setTimeout(async () => {
      if (tokenTrouble && (await refreshTokens()) === 'refused') {
        signedOut('Your session has ended: please sign in again.');
        return;
      }
      connect();
    }, wait);
  });
}

/** Asks for the open room's messages after `afterSeq` and changes after `afterChange`. */
function syncOpenRoom(afterSeq, afterChange) {
  sendFrame({ action: 'sync', room_id: state.open.id, after_seq: afterSeq, after_change: afterChange });
}

function onEvent(event) {
  const open = state.open;
  switch (event.type) {
    case 'message':
      if (open && event.room_id === open.id) {
        if (event.seq > open.lastSeq + 1 && open.lastSeq > 0) {
          // A gap: fetch what is missing, in order.
          syncOpenRoom(open.lastSeq, open.lastChange);
        }
        addMessage(event);
        if (event.sender_id !== state.me?.id) markRead();
        // The echo of one's own message says whom it reached.
        if (event.delivered_to?.length) {
          onReceipt({ room_id: event.room_id, seq: event.seq, status: 'delivered', user_ids: event.delivered_to });
        }
      }
      // The list shows each room's last message: it moved.
      roomsChanged();
      break;
    case 'synced':
      if (open && event.room_id === open.id && event.has_more) {
        syncOpenRoom(event.last_seq, event.last_change ?? open.lastChange);
      } else if (open && event.room_id === open.id) {
        markRead();
      }
      break;
    case 'typing':
      if (open && event.room_id === open.id && event.user_id !== state.me?.id) {
        clearTimeout(state.typingTimer);
        $('typing').textContent = event.is_typing ? `${event.username} is typing…` : '';
        if (event.is_typing) {
          state.typingTimer = setTimeout(() => {
            $('typing').textContent = '';
          }, 5000);
        }
      }
      break;
    case 'receipt':
      onReceipt(event);
      break;
    case 'message_updated':
      updateMessage(event);
      roomsChanged();
      break;
    case 'message_deleted':
      if (open && event.room_id === open.id) {
        const known = open.messages.get(event.message_id);
        if (known) {
          updateMessage({ ...known, change: event.change, deleted: true, message: '', reactions: [], attachments: [] });
        }
      }
      roomsChanged();
      break;
    case 'presence':
      state.presence.set(event.user_id, { online: event.status === 'online', last_seen: event.last_seen });
      renderRooms();
      if (open) {
        showChatPresence();
        renderMembers();
      }
      break;
    case 'unread':
      roomsChanged();
      break;
    case 'error':
      setError(event.detail || 'The server refused that.');
      break;
    default:
      break;
  }
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) markRead();
});

// ---------------------------------------------------------------- boot

if (state.tokens) {
  start().catch((error) => {
    if (state.tokens) setError(error.message);
    else showAuth();
  });
} else {
  showAuth();
}
