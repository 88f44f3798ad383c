/**
 * The chat page: connects to /ws on the page's own host, joins the room in
 * the URL fragment (#room, default "general"), and keeps the DOM in step
 * with what the server sends. Reconnects with capped, jittered exponential
 * backoff and shows the connection state in #status (data-state:
 * connecting | connected | reconnecting).
 *
 * Recovery: messages carry their room's sequence number. The page tracks
 * which it has (SeqTracker) and, when it joins the room it is showing again
 * (a reconnection, or a hole in live delivery), sends `since` to get exactly
 * what it lacks; a `gap` in the reply is shown as a notice. Sends go through
 * an outbox with a client id (`cid`) and are retried until acknowledged; the
 * server stores each cid once.
 *
 * Everything that came from the network reaches the DOM through
 * textContent or attributes, never as markup.
 *
 * Test hooks (query string): ?retryBase=MS&retryCap=MS tune the backoff.
 */
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { Outbox, type Pending } from './outbox.js';
import { SeqTracker } from './sequence.js';
import { codePoints, DEFAULT_LIMITS, type ChatMessage, type ClientMessage, type Member, type RoomCount, type ServerMessage } from './protocol.js';

const NICK_KEY = 'hyperws-chat:nick';
const TYPING_SEND_EVERY_MS = 2_000;
const TYPING_IDLE_MS = 3_000;
const TYPING_SHOWN_MS = 6_000;
const MAX_SHOWN_MESSAGES = 500;
/** An unacknowledged send is sent again after this long (the server stores it once). */
const RESEND_MS = 5_000;
/** A hole in live delivery that lasts this long is filled by resuming. */
const HOLE_WAIT_MS = 3_000;

function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`chat page: #${id} is missing`);
  return el;
}

const ui = {
  status: element('status', HTMLElement),
  nickForm: element('nick-form', HTMLFormElement),
  nick: element('nick', HTMLInputElement),
  joinForm: element('join-form', HTMLFormElement),
  roomInput: element('room-input', HTMLInputElement),
  rooms: element('rooms', HTMLUListElement),
  members: element('members', HTMLUListElement),
  roomTitle: element('room-title', HTMLElement),
  messages: element('messages', HTMLOListElement),
  typing: element('typing', HTMLElement),
  error: element('error', HTMLElement),
  composer: element('composer', HTMLFormElement),
  text: element('text', HTMLInputElement),
  send: element('send', HTMLButtonElement),
};

function numberParam(name: string, fallback: number): number {
  const value = Number(new URLSearchParams(location.search).get(name));
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const backoff: BackoffOptions = {
  baseMs: numberParam('retryBase', DEFAULT_BACKOFF.baseMs),
  capMs: numberParam('retryCap', DEFAULT_BACKOFF.capMs),
};

function storedNick(): string {
  try {
    const saved = localStorage.getItem(NICK_KEY);
    if (saved !== null && saved.trim() !== '' && codePoints(saved.trim()) <= DEFAULT_LIMITS.nick) return saved.trim();
  } catch {
    // Storage may be unavailable (privacy settings): a fresh guest name will do.
  }
  return `guest-${Math.floor(1000 + Math.random() * 9000)}`;
}

function roomFromHash(): string {
  let room = '';
  try {
    room = decodeURIComponent(location.hash.slice(1)).trim();
  } catch {
    room = '';
  }
  return room !== '' && codePoints(room) <= DEFAULT_LIMITS.room ? room : 'general';
}

const state = {
  socket: null as WebSocket | null,
  attempt: 0,
  retryTimer: 0,
  myId: '',
  nick: storedNick(),
  /** The room we want to be in (joined, or join in flight). */
  room: roomFromHash(),
  /** The room the server confirmed. */
  joined: null as string | null,
  presenceVersion: -1,
  roomsVersion: -1,
  rooms: [] as RoomCount[],
  /** Live messages for a room whose join is in flight, merged with its history. */
  early: [] as ChatMessage[],
  /** The room whose messages the list shows (kept while reconnecting, to resume it). */
  shownRoom: null as string | null,
  /** The `since` of the join in flight (undefined: a fresh join). */
  joinSince: undefined as number | undefined,
  seqs: new SeqTracker(),
  outbox: new Outbox(),
  resendTimer: 0,
  holeTimer: 0,
  shown: new Set<string>(),
  typing: new Map<string, { nick: string; timer: number }>(),
  lastTypingSent: 0,
  typingIdleTimer: 0,
  errorTimer: 0,
};

function setStatus(kind: 'connecting' | 'connected' | 'reconnecting', text: string): void {
  ui.status.dataset['state'] = kind;
  ui.status.textContent = text;
}

function send(message: ClientMessage): boolean {
  const ws = state.socket;
  if (ws === null || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify({ v: 1, ...message }));
  return true;
}

function showError(text: string, code = ''): void {
  ui.error.textContent = text;
  ui.error.dataset['code'] = code;
  ui.error.hidden = false;
  clearTimeout(state.errorTimer);
  state.errorTimer = window.setTimeout(() => {
    ui.error.hidden = true;
  }, 6_000);
}

// ---------------------------------------------------------------- connection

function connect(): void {
  state.retryTimer = 0;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const ws = new WebSocket(url);
  state.socket = ws;
  ws.addEventListener('open', () => {
    if (state.socket !== ws) return;
    state.attempt = 0;
    // A (re)started server counts versions afresh.
    state.presenceVersion = -1;
    state.roomsVersion = -1;
    setStatus('connected', 'Connected');
    join(state.room);
  });
  ws.addEventListener('message', (event: MessageEvent) => {
    if (state.socket !== ws || typeof event.data !== 'string') return;
    let message: ServerMessage;
    try {
      message = JSON.parse(event.data) as ServerMessage;
    } catch {
      return;
    }
    if (message === null || typeof message !== 'object' || message.v !== 1) return;
    handle(message);
  });
  ws.addEventListener('close', () => {
    if (state.socket !== ws) return;
    state.socket = null;
    state.joined = null;
    state.outbox.unsent();
    // Who is here is unknown until the server tells again.
    ui.members.replaceChildren();
    clearTyping();
    setComposer(false);
    scheduleReconnect();
  });
}

function scheduleReconnect(): void {
  const delay = backoffDelay(state.attempt, backoff);
  state.attempt++;
  setStatus('reconnecting', `Reconnecting… (attempt ${state.attempt})`);
  state.retryTimer = window.setTimeout(connect, delay);
}

// The network came back: no reason to wait for the rest of the backoff.
window.addEventListener('online', () => {
  if (state.retryTimer === 0) return;
  clearTimeout(state.retryTimer);
  connect();
});

// ------------------------------------------------------------------ handlers

function handle(message: ServerMessage): void {
  switch (message.type) {
    case 'welcome':
      state.myId = message.id;
      return;
    case 'joined':
      return onJoined(message);
    case 'ack':
      return onAck(message.cid, message.message);
    case 'left':
      if (state.joined === message.room) state.joined = null;
      return;
    case 'nick':
      setNick(message.nick);
      return;
    case 'presence':
      if (message.room !== state.joined || message.version < state.presenceVersion) return;
      state.presenceVersion = message.version;
      return renderMembers(message.members);
    case 'rooms':
      if (message.version < state.roomsVersion) return;
      state.roomsVersion = message.version;
      state.rooms = message.rooms;
      return renderRooms();
    case 'message':
      if (message.room === state.joined) {
        stopTyping(message.from.id);
        return receive(message);
      }
      if (message.room === state.room) state.early.push(message);
      return;
    case 'typing':
      if (message.room !== state.joined || message.from.id === state.myId) return;
      if (message.typing) startTyping(message.from);
      else stopTyping(message.from.id);
      return;
    case 'error':
      showError(message.message, message.code);
      return;
  }
}

function join(room: string): void {
  state.room = room;
  state.early = [];
  if (location.hash.slice(1) !== encodeURIComponent(room)) history.replaceState(null, '', `#${encodeURIComponent(room)}`);
  ui.roomTitle.textContent = room;
  // The list shows this room already: ask only for what follows.
  state.joinSince = state.shownRoom === room ? state.seqs.contiguous : undefined;
  send({ type: 'join', room, nick: state.nick, ...(state.joinSince !== undefined ? { since: state.joinSince } : {}) });
}

function onJoined(reply: Extract<ServerMessage, { type: 'joined' }>): void {
  const { room, history, gap } = reply;
  if (room !== state.room) return; // superseded by a later join
  state.joined = room;
  state.presenceVersion = reply.version;
  setNick(reply.nick);
  ui.roomTitle.textContent = room;
  clearTyping();
  // A resume adds to what is shown; a fresh join, or a history that does
  // not connect to it, starts the list again.
  if (state.joinSince === undefined || gap) {
    ui.messages.replaceChildren();
    state.shown.clear();
  }
  if (gap) appendNotice('gap', 'Earlier messages could not be restored: some of what was said while you were away is missing.');
  state.shownRoom = room;
  for (const m of history) appendMessage(m);
  state.seqs.reset(reply.seq);
  for (const m of state.early) if (state.seqs.add(m.seq)) appendMessage(m);
  state.early = [];
  renderMembers(reply.members);
  renderRooms();
  setComposer(true);
  flushOutbox();
}

/** A live message of the joined room: shown unless it came already. */
function receive(m: ChatMessage): void {
  if (!state.seqs.add(m.seq)) return;
  appendMessage(m);
  if (state.seqs.hasHole && state.holeTimer === 0) {
    state.holeTimer = window.setTimeout(() => {
      state.holeTimer = 0;
      // Still missing one: it was lost on the way (or the node died before publishing it).
      if (state.seqs.hasHole && state.joined !== null) join(state.joined);
    }, HOLE_WAIT_MS);
  }
}

function onAck(cid: string, m: ChatMessage): void {
  state.outbox.ack(cid);
  ui.messages.querySelector(`li.pending[data-cid="${cid}"]`)?.remove();
  if (m.room === state.joined) receive(m);
  if (state.outbox.size === 0) {
    clearInterval(state.resendTimer);
    state.resendTimer = 0;
  }
}

/** Send what the outbox holds for the joined room and is due. */
function flushOutbox(): void {
  const room = state.joined;
  if (room === null) return;
  const now = Date.now();
  for (const entry of state.outbox.due(room, now, RESEND_MS)) {
    if (!send({ type: 'message', text: entry.text, cid: entry.cid })) return;
    entry.sentAt = now;
  }
}

function setNick(nick: string): void {
  state.nick = nick;
  if (document.activeElement !== ui.nick) ui.nick.value = nick;
  try {
    localStorage.setItem(NICK_KEY, nick);
  } catch {
    // Not persisted: fine.
  }
}

function setComposer(enabled: boolean): void {
  ui.text.disabled = !enabled;
  ui.send.disabled = !enabled;
}

// ------------------------------------------------------------------- render

function formatTime(ts: number): string {
  return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function appendMessage(m: ChatMessage): void {
  if (state.shown.has(m.id)) return;
  state.shown.add(m.id);
  const atBottom = ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 40;
  const li = document.createElement('li');
  li.className = m.from.id === state.myId ? 'message mine' : 'message';
  li.dataset['id'] = m.id;
  li.dataset['seq'] = String(m.seq);
  const time = document.createElement('time');
  time.dateTime = new Date(m.ts).toISOString();
  time.textContent = formatTime(m.ts);
  const from = document.createElement('span');
  from.className = 'nick';
  from.textContent = m.from.nick;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = m.text;
  li.append(time, from, text);
  place(li, m.seq);
  while (ui.messages.childElementCount > MAX_SHOWN_MESSAGES) {
    const first = ui.messages.firstElementChild as HTMLElement;
    state.shown.delete(first.dataset['id'] ?? '');
    first.remove();
  }
  if (atBottom) ui.messages.scrollTop = ui.messages.scrollHeight;
}

/**
 * Insert in sequence order: after the last message with a lower sequence,
 * before pending sends (which have none yet). Messages nearly always come in
 * order, so the walk from the end stops at once.
 */
function place(li: HTMLElement, seq: number): void {
  let before: Element | null = null;
  for (let el = ui.messages.lastElementChild as HTMLElement | null; el !== null; el = el.previousElementSibling as HTMLElement | null) {
    const other = el.dataset['seq'];
    if (!el.classList.contains('pending') && (other === undefined || Number(other) < seq)) break;
    before = el;
  }
  ui.messages.insertBefore(li, before);
}

/** A line that is not a message (history gap...), at the end of the list. */
function appendNotice(kind: string, text: string): void {
  const li = document.createElement('li');
  li.className = `notice ${kind}`;
  li.setAttribute('role', 'note');
  li.textContent = text;
  ui.messages.append(li);
}

/** A send waiting for its ack, shown at the end of the list. */
function appendPending(entry: Pending): void {
  const li = document.createElement('li');
  li.className = 'message mine pending';
  li.dataset['cid'] = entry.cid;
  const status = document.createElement('span');
  status.className = 'sending';
  status.textContent = 'sending…';
  const from = document.createElement('span');
  from.className = 'nick';
  from.textContent = state.nick;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = entry.text;
  li.append(status, from, text);
  ui.messages.append(li);
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function renderMembers(members: Member[]): void {
  const present = new Set(members.map((m) => m.id));
  for (const id of [...state.typing.keys()]) if (!present.has(id)) stopTyping(id);
  ui.members.replaceChildren(
    ...members.map((m) => {
      const li = document.createElement('li');
      li.dataset['id'] = m.id;
      if (m.id === state.myId) li.className = 'me';
      li.textContent = m.nick;
      li.title = m.id === state.myId ? `${m.nick} (you)` : m.nick;
      return li;
    }),
  );
}

function renderRooms(): void {
  ui.rooms.replaceChildren(
    ...state.rooms.map((r) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'room';
      button.dataset['room'] = r.name;
      if (r.name === state.joined) button.setAttribute('aria-current', 'true');
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = r.name;
      const count = document.createElement('span');
      count.className = 'count';
      count.textContent = String(r.count);
      button.append(name, ' ', count);
      button.addEventListener('click', () => {
        if (r.name !== state.joined) join(r.name);
      });
      li.append(button);
      return li;
    }),
  );
}

// ------------------------------------------------------------------- typing

function startTyping(from: Member): void {
  const previous = state.typing.get(from.id);
  if (previous) clearTimeout(previous.timer);
  const timer = window.setTimeout(() => stopTyping(from.id), TYPING_SHOWN_MS);
  state.typing.set(from.id, { nick: from.nick, timer });
  renderTyping();
}

function stopTyping(id: string): void {
  const entry = state.typing.get(id);
  if (!entry) return;
  clearTimeout(entry.timer);
  state.typing.delete(id);
  renderTyping();
}

function clearTyping(): void {
  for (const { timer } of state.typing.values()) clearTimeout(timer);
  state.typing.clear();
  renderTyping();
}

function renderTyping(): void {
  const nicks = [...state.typing.values()].map((t) => t.nick);
  ui.typing.textContent =
    nicks.length === 0 ? '' : nicks.length === 1 ? `${nicks[0]} is typing…` : nicks.length <= 3 ? `${nicks.join(', ')} are typing…` : 'Several people are typing…';
}

// ------------------------------------------------------------------- forms

ui.nickForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const nick = ui.nick.value.trim();
  if (nick === '' || codePoints(nick) > DEFAULT_LIMITS.nick) return showError(`A nickname has 1 to ${DEFAULT_LIMITS.nick} characters.`);
  ui.nick.blur();
  setNick(nick);
  send({ type: 'nick', nick });
});

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const room = ui.roomInput.value.trim();
  if (room === '' || codePoints(room) > DEFAULT_LIMITS.room) return showError(`A room name has 1 to ${DEFAULT_LIMITS.room} characters.`);
  ui.roomInput.value = '';
  if (room !== state.joined) join(room);
});

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.text.value;
  if (text.trim() === '') return;
  if (codePoints(text) > DEFAULT_LIMITS.text) return showError(`A message has at most ${DEFAULT_LIMITS.text} characters.`);
  if (state.joined === null) return;
  appendPending(state.outbox.add(state.joined, text));
  flushOutbox();
  if (state.resendTimer === 0) state.resendTimer = window.setInterval(flushOutbox, RESEND_MS);
  ui.text.value = '';
  state.lastTypingSent = 0;
  clearTimeout(state.typingIdleTimer);
});

ui.text.addEventListener('input', () => {
  if (ui.text.value.trim() === '') return;
  const now = Date.now();
  if (now - state.lastTypingSent >= TYPING_SEND_EVERY_MS && send({ type: 'typing', typing: true })) state.lastTypingSent = now;
  clearTimeout(state.typingIdleTimer);
  state.typingIdleTimer = window.setTimeout(() => {
    if (state.lastTypingSent !== 0) send({ type: 'typing', typing: false });
    state.lastTypingSent = 0;
  }, TYPING_IDLE_MS);
});

window.addEventListener('hashchange', () => {
  const room = roomFromHash();
  if (room !== state.room) join(room);
});

ui.nick.value = state.nick;
setStatus('connecting', 'Connecting…');
connect();
