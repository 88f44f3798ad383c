/**
 * Message text as the page shows it, without the DOM: links found in it
 * (http and https only, so no javascript: or data: URL ever becomes a link),
 * and the labels of times and days. Unit-tested in Node.
 */

/** A run of message text; with `href`, a link whose text is `text`. */
export interface TextPart {
  text: string;
  href?: string;
}

const URL_LIKE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
// Punctuation that ends a sentence more often than a URL.
const TRAILING = /[.,;:!?'")\]}]+$/;

/** Split text into plain runs and http(s) links. */
export function splitLinks(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_LIKE)) {
    let candidate = match[0];
    // Keep a closing parenthesis that closes one opened inside the URL (Wikipedia links).
    const trailing = TRAILING.exec(candidate)?.[0] ?? '';
    candidate = candidate.slice(0, candidate.length - trailing.length);
    if (trailing.startsWith(')') && candidate.includes('(')) candidate += ')';
    let href: string;
    try {
      const url = new URL(candidate);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
      href = url.href;
    } catch {
      continue;
    }
    const start = match.index;
    if (start > last) parts.push({ text: text.slice(last, start) });
    parts.push({ text: candidate, href });
    last = start + candidate.length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

const DAY_MS = 86_400_000;

/** Local midnight of the day of `ts`. */
const dayStart = (ts: number): number => {
  const d = new Date(ts);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
};

/** The same local calendar day. */
export const sameDay = (a: number, b: number): boolean => dayStart(a) === dayStart(b);

/** "Today", "Yesterday", or the full date, for a day separator. */
export function dayLabel(ts: number, now: number, locales?: string | string[]): string {
  const days = Math.round((dayStart(now) - dayStart(ts)) / DAY_MS);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return new Date(ts).toLocaleDateString(locales, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
}

/** Hours and minutes, in the user's format. */
export const timeLabel = (ts: number, locales?: string | string[]): string => new Date(ts).toLocaleTimeString(locales, { hour: '2-digit', minute: '2-digit' });
