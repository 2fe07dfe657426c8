// The memory view's filter (no `vscode` module, so Node's test runner tests it): every word of the filter must
// occur, in any case, in the pattern's title, note or tags.
import type { Pattern } from './patterns';

export function filterWords(filter: string): string[] {
  return filter.toLowerCase().split(/\s+/).filter(Boolean);
}

export function matchesFilter(p: Pick<Pattern, 'title' | 'body' | 'tags'>, filter: string): boolean {
  const text = [p.title, p.body, ...(p.tags ?? [])].join('\n').toLowerCase();
  return filterWords(filter).every((word) => text.includes(word));
}

/** The view's description while a filter is set: `“retry” · 2 of 5`. */
export function filterDescription(filter: string, shown: number, total: number): string {
  return `“${filter.trim()}” · ${shown} of ${total}`;
}

/** The view's message above the patterns while a filter is set (a view alone in its container shows no description). */
export function filterMessage(filter: string, shown: number, total: number): string {
  const text = `“${filter.trim()}”`;
  if (shown === 0) return `No pattern's title, note or tags hold ${text}. Clear the filter from the view's title bar.`;
  return `${shown} of ${total} ${total === 1 ? 'pattern holds' : shown === 1 ? 'patterns holds' : 'patterns hold'} ${text} in ${shown === 1 ? 'its' : 'their'} title, note or tags.`;
}
