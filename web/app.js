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
  /** The open room: { id, title, lastSeq, next, seen: Set of message ids } */
  open: null,
  socket: null,
  backoff: 500,
  reconnectTimer: null,
  typingSentAt: 0,
  typingTimer: null,
  pendingSend: null, // { text, clientId } of a send that failed, for its retry
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
 */
function refreshTokens() {
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const res = await fetch(`${API}/api/users/token/refresh/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refresh: state.tokens?.refresh }),
        });
        if (res.status >= 500 || res.status === 429) return 'offline';
        if (!res.ok) return 'refused';
        const data = await res.json();
        saveTokens({ access: data.access, refresh: data.refresh });
        return 'ok';
      } catch {
        return 'offline';
      } finally {
        setTimeout(() => {
          refreshing = null;
        }, 0);
      }
    })();
  }
  return refreshing;
}

/** Calls the API; refreshes the session once on a 401. */
async function api(method, path, body, { auth = true, retried = false } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth && state.tokens) headers.authorization = `Bearer ${state.tokens.access}`;
  let res;
  try {
    res = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
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
  $('whoami').textContent = '';
}

function signedOut(message) {
  saveTokens(null);
  state.me = null;
  state.open = null;
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
  $('whoami').textContent = `Signed in as ${state.me.username}`;
  $('auth').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  await loadRooms();
  connect();
}

function roomTitle(room) {
  return room.name || room.title || 'Direct chat';
}

async function loadRooms() {
  const rooms = await api('GET', '/api/chat/rooms/');
  // A direct room has no name: title it with the other participant.
  await Promise.all(rooms.filter((r) => !r.name).map(async (room) => {
    const known = state.rooms.find((r) => r.id === room.id && r.title);
    if (known) {
      room.title = known.title;
      return;
    }
    const detail = await api('GET', `/api/chat/rooms/${room.id}/`);
    const other = detail.members.find((m) => m.user.id !== state.me.id);
    room.title = other ? other.user.username : 'Direct chat';
  }));
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

// ---------------------------------------------------------------- a room

async function openRoom(id) {
  const room = state.rooms.find((r) => r.id === id);
  state.open = {
    id,
    title: room ? roomTitle(room) : '',
    lastSeq: 0,
    next: null,
    seen: new Set(),
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
  state.open.others = detail.members.map((m) => m.user.id).filter((u) => u !== state.me.id);
  for (const message of [...page.results].reverse()) addMessage(fromHistory(message));
  state.open.next = page.next;
  $('older').hidden = !page.next;
  renderRooms();
  markRead();
  $('compose-text').focus();
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
    if (open.seen.has(message.id)) continue;
    open.seen.add(message.id);
    list.insertBefore(renderMessage(fromHistory(message)), first);
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
  };
}

function renderMessage(m) {
  const item = document.createElement('li');
  item.dataset.id = m.id;
  item.dataset.seq = String(m.seq);
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = m.sender;
  const text = document.createElement('span');
  text.className = 'text';
  // Always text: whatever anyone sends is shown as they typed it.
  text.textContent = m.deleted ? '(deleted)' : m.message;
  const meta = document.createElement('span');
  meta.className = 'meta';
  const time = document.createElement('time');
  time.dateTime = m.timestamp;
  time.textContent = new Date(m.timestamp).toLocaleTimeString();
  meta.append(time);
  if (m.sender_id === state.me?.id) {
    const mark = document.createElement('span');
    mark.className = 'mark';
    meta.append(' ', mark);
    item.dataset.status = m.status || 'sent';
    showMark(item);
  }
  item.append(who, text, meta);
  return item;
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
  if (!open || m.room_id !== open.id || open.seen.has(m.id)) return;
  open.seen.add(m.id);
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

$('compose').addEventListener('submit', (event) => {
  event.preventDefault();
  const open = state.open;
  const box = $('compose-text');
  const text = box.value;
  if (!open || !text.trim()) return;
  // A retry of the same text reuses its client_id: the server stores it once.
  const clientId = state.pendingSend?.text === text ? state.pendingSend.clientId : crypto.randomUUID();
  state.pendingSend = null;
  box.value = '';
  sendFrame({ action: 'typing', room_id: open.id, is_typing: false });
  state.typingSentAt = 0;
  sending = sending.then(async () => {
    try {
      const sent = await api('POST', `/api/chat/rooms/${open.id}/messages/`, {
        message: text,
        client_id: clientId,
      });
      setError('');
      addMessage(fromHistory(sent));
    } catch (error) {
      // Give the text back (unless something new was typed) for a retry.
      state.pendingSend = { text, clientId };
      if (!box.value && state.open?.id === open.id) box.value = text;
      setError(error.message);
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
    // Whatever happened while the socket was down: catch up.
    if (state.open) sendFrame({ action: 'sync', room_id: state.open.id, after_seq: state.open.lastSeq });
    roomsChanged();
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

function onEvent(event) {
  const open = state.open;
  switch (event.type) {
    case 'message':
      if (open && event.room_id === open.id) {
        if (event.seq > open.lastSeq + 1 && open.lastSeq > 0) {
          // A gap: fetch what is missing, in order.
          sendFrame({ action: 'sync', room_id: open.id, after_seq: open.lastSeq });
        }
        addMessage(event);
        if (event.sender_id !== state.me?.id) markRead();
      }
      // The list shows each room's last message: it moved.
      roomsChanged();
      break;
    case 'synced':
      if (open && event.room_id === open.id && event.has_more) {
        sendFrame({ action: 'sync', room_id: open.id, after_seq: event.last_seq });
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
    case 'message_deleted':
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
