/**
 * The chat page: connects to /ws on the page's own host, joins the room in
 * the URL fragment (#room, default "general"), and keeps the DOM in step
 * with what the server sends. The connection is the library's
 * ReconnectingWebSocket, loaded as an ES module from ./lib/reconnect/web.js
 * (the build copies it from dist/esm/reconnect/): its backoff, its
 * reconnections. #status shows the connection (connection.ts; data-state:
 * connecting | online | reconnecting | offline), with a countdown to the
 * next attempt; the browser's `online` event skips the rest of a wait.
 *
 * Recovery: messages carry their room's sequence number. The page tracks
 * which it has (SeqTracker) and, when it joins the room it is showing again
 * (a reconnection, or a hole in live delivery), sends `since` to get exactly
 * what it lacks; a `gap` in the reply is shown as a notice. Sends go through
 * an outbox with a client id (`cid`) and are retried until acknowledged; the
 * server stores each cid once.
 *
 * The outbox and the library's send queue: a chat message reaches the
 * socket only while its room is joined (flushOutbox); typed during an
 * outage, it waits in the outbox ("sending…") and goes out after the next
 * `joined`, which follows the join the page sends on every `open`. The
 * library's queue is never used (maxQueuedMessages: 0: a send while down
 * would be an error, not a silent second copy): the outbox alone resends,
 * and its acks are end to end, which a queue flushed into a new socket
 * cannot tell. Typing notices, nick changes and leaves made while down are
 * dropped: stale, or carried by the next join (nick, room).
 *
 * Layout: on narrow screens the sidebar (rooms, members, nickname) is a
 * drawer opened by #rooms-toggle (aria-expanded; Escape closes it). The
 * message list is timeline.ts; unread counts are unread.ts.
 *
 * Everything that came from the network reaches the DOM through
 * textContent or attributes, never as markup.
 *
 * Test hooks (query string): ?retryBase=MS&retryCap=MS set the library's
 * initialDelay and maxDelay.
 */
import { ReconnectingWebSocket, type ReconnectingDetail } from './lib/reconnect/web.js';
import { connectionStatus, retryOptions } from './connection.js';
import { Outbox } from './outbox.js';
import { codePoints, DEFAULT_LIMITS, type ChatMessage, type ClientMessage, type Member, type RoomCount, type ServerMessage } from './protocol.js';
import { SeqTracker } from './sequence.js';
import { Timeline } from './timeline.js';
import { ReadMarks } from './unread.js';

const NICK_KEY = 'hyperws-chat:nick';
const TYPING_SEND_EVERY_MS = 2_000;
const TYPING_IDLE_MS = 3_000;
const TYPING_SHOWN_MS = 6_000;
/** An unacknowledged send is sent again after this long (the server stores it once). */
const RESEND_MS = 5_000;
/** A hole in live delivery that lasts this long is filled by resuming. */
const HOLE_WAIT_MS = 3_000;
/** The composer grows with its text up to this many pixels, then scrolls. */
const COMPOSER_MAX_PX = 160;

function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`chat page: #${id} is missing`);
  return el;
}

const ui = {
  status: element('status', HTMLElement),
  toggle: element('rooms-toggle', HTMLButtonElement),
  unreadTotal: element('unread-total', HTMLElement),
  sidebar: element('sidebar', HTMLElement),
  nickForm: element('nick-form', HTMLFormElement),
  nick: element('nick', HTMLInputElement),
  joinForm: element('join-form', HTMLFormElement),
  roomInput: element('room-input', HTMLInputElement),
  rooms: element('rooms', HTMLUListElement),
  members: element('members', HTMLUListElement),
  roomTitle: element('room-title', HTMLElement),
  leave: element('leave', HTMLButtonElement),
  messages: element('messages', HTMLOListElement),
  jump: element('jump', HTMLButtonElement),
  typing: element('typing', HTMLElement),
  error: element('error', HTMLElement),
  composer: element('composer', HTMLFormElement),
  text: element('text', HTMLTextAreaElement),
  send: element('send', HTMLButtonElement),
};

function storage(): Storage | null {
  try {
    return localStorage;
  } catch {
    return null; // privacy settings: nothing is remembered
  }
}

function storedNick(): string {
  try {
    const saved = storage()?.getItem(NICK_KEY) ?? null;
    if (saved !== null && saved.trim() !== '' && codePoints(saved.trim()) <= DEFAULT_LIMITS.nick) return saved.trim();
  } catch {
    // Storage may be unavailable: a fresh guest name will do.
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

const timeline = new Timeline(ui.messages, ui.jump);

const state = {
  /** When the library's current wait ends (Date.now() clock), for the countdown. */
  retryAt: 0,
  /** Ticks the countdown while waiting. */
  statusTimer: 0,
  /** The page has been online: a new attempt is a reconnection. */
  wasOnline: false,
  myId: '',
  nick: storedNick(),
  /** The room we want to be in (joined, or join in flight); null after leaving. */
  room: roomFromHash() as string | null,
  /** The room the server confirmed. */
  joined: null as string | null,
  presenceVersion: -1,
  roomsVersion: -1,
  rooms: [] as RoomCount[],
  /** Members of the joined room, by id, to tell who came and went. */
  members: null as Map<string, string> | null,
  /** Live messages for a room whose join is in flight, merged with its history. */
  early: [] as ChatMessage[],
  /** The room whose messages the list shows (kept while reconnecting, to resume it). */
  shownRoom: null as string | null,
  /** The `since` of the join in flight (undefined: a fresh join). */
  joinSince: undefined as number | undefined,
  seqs: new SeqTracker(),
  outbox: new Outbox(),
  read: new ReadMarks(storage()),
  resendTimer: 0,
  holeTimer: 0,
  typing: new Map<string, { nick: string; timer: number }>(),
  lastTypingSent: 0,
  typingIdleTimer: 0,
  errorTimer: 0,
};

/** Sends when open; false otherwise (nothing is queued: see the header). */
function send(message: ClientMessage): boolean {
  if (socket.readyState !== ReconnectingWebSocket.OPEN) return false;
  socket.send(JSON.stringify({ v: 1, ...message }));
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

const socket = new ReconnectingWebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, undefined, {
  ...retryOptions(location.search),
  maxQueuedMessages: 0,
});

socket.addEventListener('open', () => {
  state.wasOnline = true;
  // A (re)started server counts versions afresh.
  state.presenceVersion = -1;
  state.roomsVersion = -1;
  renderStatus();
  if (state.room !== null) join(state.room);
});

socket.addEventListener('message', (event: Event) => {
  const data: unknown = (event as MessageEvent).data;
  if (typeof data !== 'string') return;
  let message: ServerMessage;
  try {
    message = JSON.parse(data) as ServerMessage;
  } catch {
    return;
  }
  if (message === null || typeof message !== 'object' || message.v !== 1) return;
  handle(message);
});

// A connection (or an attempt) ended; the library waits detail.delay ms before the next.
socket.addEventListener('reconnecting', (event: Event) => {
  state.retryAt = Date.now() + (event as CustomEvent<ReconnectingDetail>).detail.delay;
  disconnected(true);
});

// The library gave up (a close it must not retry): nothing more will be sent.
socket.addEventListener('close', () => disconnected(false));

/** The room is no longer joined; with `retrying`, messages typed meanwhile wait in the outbox. */
function disconnected(retrying: boolean): void {
  state.joined = null;
  state.members = null;
  state.outbox.unsent();
  // Who is here is unknown until the server tells again.
  ui.members.replaceChildren();
  clearTyping();
  setComposer(retrying && state.room !== null && state.shownRoom === state.room);
  renderStatus();
}

/** #status from the library's state; ticks each second while counting down to the next attempt. */
function renderStatus(): void {
  const waiting = socket.readyState === ReconnectingWebSocket.CONNECTING && socket.socket === null;
  const { state: kind, text } = connectionStatus({
    readyState: socket.readyState,
    dialing: socket.socket !== null,
    retryAt: state.retryAt,
    now: Date.now(),
    networkUp: navigator.onLine,
    wasOnline: state.wasOnline,
  });
  ui.status.dataset['state'] = kind;
  ui.status.textContent = text;
  if (waiting && state.statusTimer === 0) state.statusTimer = window.setInterval(renderStatus, 1000);
  if (!waiting && state.statusTimer !== 0) {
    clearInterval(state.statusTimer);
    state.statusTimer = 0;
  }
}

// The network came back: no reason to wait for the rest of the backoff.
window.addEventListener('online', () => {
  socket.reconnectNow();
  renderStatus();
});
window.addEventListener('offline', renderStatus);

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
      announcePresence(message.members);
      return renderMembers(message.members);
    case 'rooms':
      if (message.version < state.roomsVersion) return;
      state.roomsVersion = message.version;
      state.rooms = message.rooms;
      return renderRooms();
    case 'activity':
      return onActivity(message.room, message.seq);
    case 'message':
      if (message.room === state.joined) {
        stopTyping(message.from.id);
        return receive(message, true);
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
  ui.leave.hidden = false;
  clearTyping();
  // A resume adds to what is shown; a fresh join, or a history that does
  // not connect to it, starts the list again.
  if (state.joinSince === undefined || gap || state.shownRoom !== room) timeline.clear();
  if (gap) timeline.notice('gap', 'Earlier messages could not be restored: some of what was said while you were away is missing.');
  state.shownRoom = room;
  for (const m of history) timeline.add(m, m.from.id === state.myId, false);
  state.seqs.reset(reply.seq);
  for (const m of state.early) if (state.seqs.add(m.seq)) timeline.add(m, m.from.id === state.myId, true);
  state.early = [];
  state.read.read(room, state.seqs.contiguous);
  state.members = new Map(reply.members.map((m) => [m.id, m.nick]));
  renderMembers(reply.members);
  renderRooms();
  setComposer(true);
  flushOutbox();
}

/** A message of the joined room, live or acknowledged: shown unless it came already. */
function receive(m: ChatMessage, live: boolean): void {
  if (!state.seqs.add(m.seq)) return;
  timeline.add(m, m.from.id === state.myId, live);
  state.read.read(m.room, state.seqs.contiguous);
  onActivity(m.room, m.seq);
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
  timeline.removePending(cid);
  if (m.room === state.joined) receive(m, false);
  if (state.outbox.size === 0) {
    clearInterval(state.resendTimer);
    state.resendTimer = 0;
  }
}

/** A room got a message: its latest sequence moves (unread counts). */
function onActivity(room: string, seq: number): void {
  const entry = state.rooms.find((r) => r.name === room);
  if (entry === undefined) state.rooms = [...state.rooms, { name: room, count: 0, seq }].sort((a, b) => (a.name < b.name ? -1 : 1));
  else if (entry.seq >= seq) return;
  else entry.seq = seq;
  renderRooms();
}

/** Join and leave notices, from the difference with the last member list. */
function announcePresence(members: Member[]): void {
  const before = state.members;
  const now = new Map(members.map((m) => [m.id, m.nick]));
  state.members = now;
  if (before === null) return;
  for (const [id, nick] of now) {
    const was = before.get(id);
    if (was === undefined) timeline.notice('presence', `${nick} joined`);
    else if (was !== nick) timeline.notice('presence', `${was} is now ${nick}`);
  }
  for (const [id, nick] of before) if (!now.has(id)) timeline.notice('presence', `${nick} left`);
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

function leaveRoom(): void {
  const room = state.joined;
  if (room === null) return;
  send({ type: 'leave' });
  state.room = null;
  state.joined = null;
  state.shownRoom = null;
  state.members = null;
  state.read.forget(room);
  history.replaceState(null, '', location.pathname + location.search);
  timeline.clear();
  timeline.notice('left', `You left ${room}. Pick a room in the list or join one by name.`);
  ui.roomTitle.textContent = 'No room';
  ui.leave.hidden = true;
  ui.members.replaceChildren();
  clearTyping();
  setComposer(false);
  renderRooms();
}

function setNick(nick: string): void {
  state.nick = nick;
  if (document.activeElement !== ui.nick) ui.nick.value = nick;
  try {
    storage()?.setItem(NICK_KEY, nick);
  } catch {
    // Not persisted: fine.
  }
}

function setComposer(enabled: boolean): void {
  ui.text.disabled = !enabled;
  ui.send.disabled = !enabled;
}

// ------------------------------------------------------------------- render

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
  let total = 0;
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
      button.append(name);
      const label = [r.name];
      if (r.count > 0) {
        const count = document.createElement('span');
        count.className = 'count';
        count.textContent = String(r.count);
        button.append(' ', count);
        label.push(`${r.count} ${r.count === 1 ? 'member' : 'members'}`);
      }
      const unread = r.name === state.joined ? 0 : state.read.unread(r.name, r.seq);
      if (unread > 0) {
        total += unread;
        const badge = document.createElement('span');
        badge.className = 'unread';
        badge.textContent = unread > 99 ? '99+' : String(unread);
        button.append(badge);
        label.push(`${unread} unread`);
      }
      button.setAttribute('aria-label', label.join(', '));
      button.addEventListener('click', () => {
        setSidebar(false);
        if (r.name !== state.joined) join(r.name);
        ui.text.focus();
      });
      li.append(button);
      return li;
    }),
  );
  ui.unreadTotal.hidden = total === 0;
  ui.unreadTotal.textContent = total > 99 ? '99+' : String(total);
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

// ------------------------------------------------------------------- sidebar

/** Open or close the sidebar drawer (narrow screens; on wide ones it is always shown). */
function setSidebar(open: boolean): void {
  ui.toggle.setAttribute('aria-expanded', String(open));
  document.body.classList.toggle('sidebar-open', open);
}

ui.toggle.addEventListener('click', () => {
  const open = ui.toggle.getAttribute('aria-expanded') !== 'true';
  setSidebar(open);
  if (open) (ui.rooms.querySelector('button') ?? ui.roomInput).focus();
});

document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape' || !document.body.classList.contains('sidebar-open')) return;
  setSidebar(false);
  ui.toggle.focus();
});

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
  setSidebar(false);
  if (room !== state.joined) join(room);
});

ui.leave.addEventListener('click', leaveRoom);

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.text.value;
  if (text.trim() === '') return;
  if (codePoints(text) > DEFAULT_LIMITS.text) return showError(`A message has at most ${DEFAULT_LIMITS.text} characters.`);
  // While reconnecting, the room shown (the one the next join resumes) takes it: the outbox sends it once joined.
  const room = state.joined ?? (state.shownRoom === state.room ? state.shownRoom : null);
  if (room === null) return;
  const entry = state.outbox.add(room, text);
  timeline.addPending(entry.cid, state.myId, state.nick, text);
  flushOutbox();
  if (state.resendTimer === 0) state.resendTimer = window.setInterval(flushOutbox, RESEND_MS);
  ui.text.value = '';
  fitComposer();
  state.lastTypingSent = 0;
  clearTimeout(state.typingIdleTimer);
});

// Enter sends; Shift+Enter starts a new line (and so does Enter while an input method composes).
ui.text.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
  event.preventDefault();
  ui.composer.requestSubmit();
});

/** Grow the composer with its lines, up to COMPOSER_MAX_PX. */
function fitComposer(): void {
  ui.text.style.height = 'auto';
  ui.text.style.height = `${Math.min(ui.text.scrollHeight, COMPOSER_MAX_PX)}px`;
}

ui.text.addEventListener('input', () => {
  fitComposer();
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
renderStatus();
