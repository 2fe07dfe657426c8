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
