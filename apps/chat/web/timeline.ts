/**
 * The message list of the room shown (#messages) and its "new messages"
 * button. Owns the list's DOM: messages placed in sequence order (pending
 * sends last), notices (joins, leaves, history gaps), day separators and the
 * grouping of consecutive messages by one author, both recomputed over the
 * list after each change (at most MAX_SHOWN items, so a walk is cheap).
 *
 * Text from the network reaches the DOM through textContent and attributes
 * only; links are built from splitLinks() (http and https URLs only).
 */
import type { ChatMessage } from './protocol.js';
import { dayLabel, sameDay, splitLinks, timeLabel } from './text.js';

/** Messages kept in the list; the oldest go first. */
export const MAX_SHOWN = 500;
/** Consecutive messages of one author closer than this are grouped under one name. */
export const GROUP_MS = 5 * 60_000;
/** Within this many pixels of the end counts as "at the end". */
const AT_END_PX = 40;

export class Timeline {
  private readonly shown = new Set<string>();

  constructor(
    private readonly list: HTMLOListElement,
    private readonly jump: HTMLButtonElement,
  ) {
    list.addEventListener('scroll', () => {
      if (this.atEnd()) jump.hidden = true;
    });
    jump.addEventListener('click', () => {
      this.scrollToEnd();
      jump.hidden = true;
    });
  }

  clear(): void {
    this.list.replaceChildren();
    this.shown.clear();
    this.jump.hidden = true;
  }

  /**
   * Show a message (once per id). `live`: it just arrived, so if the reader
   * has scrolled up it is announced by the jump button instead of scrolling.
   */
  add(m: ChatMessage, mine: boolean, live: boolean): void {
    if (this.shown.has(m.id)) return;
    this.shown.add(m.id);
    const follow = this.atEnd() || mine || !live;
    const li = messageItem(m.from.id, m.from.nick, m.text, m.ts, mine);
    li.dataset['id'] = m.id;
    li.dataset['seq'] = String(m.seq);
    this.place(li, m.seq);
    this.trim();
    this.decorate();
    if (follow) this.scrollToEnd();
    else this.jump.hidden = false;
  }

  /** A send waiting for its ack, at the end, marked "sending…". */
  addPending(cid: string, myId: string, nick: string, text: string): void {
    const li = messageItem(myId, nick, text, Date.now(), true);
    li.classList.add('pending');
    li.dataset['cid'] = cid;
    const status = document.createElement('span');
    status.className = 'sending';
    status.textContent = 'sending…';
    li.querySelector('.meta')!.append(status);
    this.list.append(li);
    this.decorate();
    this.scrollToEnd();
  }

  removePending(cid: string): void {
    for (const li of this.list.querySelectorAll<HTMLElement>('li.pending')) if (li.dataset['cid'] === cid) li.remove();
    this.decorate();
  }

  /** A line that is not a message, at the end (kind: a class, e.g. 'gap', 'presence'). */
  notice(kind: string, text: string): void {
    const follow = this.atEnd();
    const li = document.createElement('li');
    li.className = `notice ${kind}`;
    li.textContent = text;
    this.list.append(li);
    this.trim();
    this.decorate();
    if (follow) this.scrollToEnd();
  }

  atEnd(): boolean {
    return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < AT_END_PX;
  }

  scrollToEnd(): void {
    this.list.scrollTop = this.list.scrollHeight;
  }

  /**
   * After the last message with a lower sequence and before pending sends:
   * messages nearly always come in order, so the walk from the end stops at once.
   */
  private place(li: HTMLElement, seq: number): void {
    let before: Element | null = null;
    for (let el = this.list.lastElementChild as HTMLElement | null; el !== null; el = el.previousElementSibling as HTMLElement | null) {
      if (el.classList.contains('day')) continue;
      const other = el.dataset['seq'];
      if (!el.classList.contains('pending') && (other === undefined || Number(other) < seq)) break;
      before = el;
    }
    this.list.insertBefore(li, before);
  }

  private trim(): void {
    let items = this.list.querySelectorAll('li.message:not(.pending), li.notice').length;
    while (items > MAX_SHOWN) {
      const first = this.list.firstElementChild as HTMLElement;
      if (!first.classList.contains('day')) items--;
      if (first.dataset['id'] !== undefined) this.shown.delete(first.dataset['id']);
      first.remove();
    }
  }

  /** Day separators before the first message of each day; `continued` on grouped messages. */
  private decorate(): void {
    for (const day of this.list.querySelectorAll('li.day')) day.remove();
    const now = Date.now();
    let previous: { ts: number; author: string } | null = null;
    for (const li of Array.from(this.list.children) as HTMLElement[]) {
      if (!li.classList.contains('message')) {
        previous = null; // a notice breaks a group
        continue;
      }
      const ts = Number(li.dataset['ts']);
      const author = li.dataset['author'] ?? '';
      const newDay = previous === null ? !this.hasDayBefore(li, ts) : !sameDay(previous.ts, ts);
      if (newDay) {
        const day = document.createElement('li');
        day.className = 'day';
        day.setAttribute('role', 'separator');
        day.textContent = dayLabel(ts, now);
        li.before(day);
      }
      li.classList.toggle('continued', !newDay && previous !== null && previous.author === author && ts - previous.ts < GROUP_MS);
      previous = { ts, author };
    }
  }

  /** A notice sits between this message and an earlier one of the same day: no new separator. */
  private hasDayBefore(li: HTMLElement, ts: number): boolean {
    for (let el = li.previousElementSibling as HTMLElement | null; el !== null; el = el.previousElementSibling as HTMLElement | null) {
      if (el.classList.contains('message')) return sameDay(Number(el.dataset['ts']), ts);
    }
    return false;
  }
}

function messageItem(authorId: string, nick: string, text: string, ts: number, mine: boolean): HTMLLIElement {
  const li = document.createElement('li');
  li.className = mine ? 'message mine' : 'message';
  li.dataset['author'] = authorId;
  li.dataset['ts'] = String(ts);
  const meta = document.createElement('div');
  meta.className = 'meta';
  const from = document.createElement('span');
  from.className = 'nick';
  from.textContent = nick;
  const time = document.createElement('time');
  time.dateTime = new Date(ts).toISOString();
  time.textContent = timeLabel(ts);
  meta.append(from, time);
  const body = document.createElement('div');
  body.className = 'text';
  for (const part of splitLinks(text)) {
    if (part.href === undefined) {
      body.append(part.text);
      continue;
    }
    const a = document.createElement('a');
    a.href = part.href;
    a.textContent = part.text;
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    body.append(a);
  }
  li.append(meta, body);
  return li;
}
