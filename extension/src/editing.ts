// The prompts that shape a pattern: a title and an optional note for a new one (remembered from a selection or
// saved from a discovered shape), and the Edit… steps (title, note, kind, tags) for an existing one. Escape at any
// step cancels and nothing is saved.
import * as vscode from 'vscode';
import * as say from './feedback';
import { Messages } from './messages';
import { KINDS, Kind, Pattern } from './patterns';
import { Server } from './server';
import { defaultTitle } from './titles';

/** An LSP range as the server's code actions carry it (0-based; an end at character 0 leaves that line out). */
export interface LspRange { start: { line: number; character: number }; end: { line: number; character: number } }

const KIND_HELP: Record<Kind, string> = {
  pattern: 'how this codebase does something',
  convention: 'a rule the team follows',
  anti_pattern: 'what not to do here',
  failure: 'a mistake that cost time, and its fix',
};
/** A quick input holds one line: a note's line breaks show as ⏎ there, and ⏎ typed there becomes one. */
export const LINE_BREAK = '⏎';
export const noteToLine = (note: string) => note.split(/\r?\n/).join(` ${LINE_BREAK} `);
export const lineToNote = (line: string) => line.split(new RegExp(`[ \\t]*${LINE_BREAK}[ \\t]*`)).join('\n').trim();
export const parseTags = (text: string) => [...new Set(text.split(',').map((tag) => tag.trim()).filter(Boolean))];

const nonEmpty = (value: string) => (value.trim() ? (value.length > 200 ? 'At most 200 characters' : undefined) : 'The title must not be empty');

/** Title, then an optional note; undefined when the user pressed Escape at either. */
export async function askTitleAndNote(heading: string, title: string): Promise<{ title: string; note: string } | undefined> {
  const chosen = await vscode.window.showInputBox({
    title: `${heading} (1/2)`, prompt: 'A title for this pattern (Enter to go on, Escape to cancel)', value: title, validateInput: nonEmpty,
  });
  if (chosen === undefined) return undefined;
  const note = await vscode.window.showInputBox({
    title: `${heading} (2/2)`, value: '',
    prompt: `An optional note: when it applies, what to watch for. One line here (${LINE_BREAK} starts a new one); Enter with nothing saves no note`,
  });
  if (note === undefined) return undefined;
  return { title: chosen.trim(), note: lineToNote(note) };
}

/** The lines of a document a range covers, as the server reads them. */
export function linesOf(document: vscode.TextDocument, range: LspRange): string[] {
  const last = range.end.character === 0 && range.end.line > range.start.line ? range.end.line - 1 : range.end.line;
  const lines: string[] = [];
  for (let line = range.start.line; line <= Math.min(last, document.lineCount - 1); line++) lines.push(document.lineAt(line).text);
  return lines;
}

/** Remember a range of a file: asks the title (prefilled from the code) and a note, then `scms.remember`. */
export async function rememberRange(server: Server, messages: Messages, uri: string, range: LspRange): Promise<Pattern | undefined> {
  const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
  const answer = await askTitleAndNote('SCMS: Remember as pattern', defaultTitle(linesOf(document, range)));
  if (!answer) return undefined;
  const pattern = await server.execute<Pattern>('scms.remember', { uri, range, title: answer.title, ...(answer.note ? { note: answer.note } : {}) });
  messages.info(say.remembered(pattern));
  return pattern;
}

/** Save a shape discovery found as a candidate: the title the server proposed, editable, and a note. */
export async function saveShape(server: Server, messages: Messages, argument: { shape: string; title?: string }): Promise<Pattern | undefined> {
  const answer = await askTitleAndNote('SCMS: Save repeated code as pattern', argument.title ?? '');
  if (!answer) return undefined;
  const pattern = await server.execute<Pattern>('scms.saveShape', { ...argument, title: answer.title, ...(answer.note ? { note: answer.note } : {}) });
  messages.info(say.savedShape(pattern));
  return pattern;
}

/** Edit… : title, note (on one line), kind and tags, each prefilled; one `scms.update` with what changed. */
export async function editPattern(server: Server, messages: Messages, p: Pattern): Promise<Pattern | undefined> {
  const heading = `SCMS: Edit “${p.title}”`;
  const title = await vscode.window.showInputBox({ title: `${heading} (1/4)`, prompt: 'Title', value: p.title, validateInput: nonEmpty });
  if (title === undefined) return undefined;
  const noteLine = noteToLine(p.body);
  const note = await vscode.window.showInputBox({
    title: `${heading} (2/4)`, value: noteLine,
    prompt: `Note, on one line: ${LINE_BREAK} marks a line break.${p.file ? ` A long note is easier to edit in its file, ${p.file}` : ''}`,
  });
  if (note === undefined) return undefined;
  const items = [p.kind, ...KINDS.filter((k) => k !== p.kind)].map((kind) => ({
    label: kind, description: kind === p.kind ? `${KIND_HELP[kind]} (now)` : KIND_HELP[kind], value: kind,
  }));
  const kind = await vscode.window.showQuickPick(items, { title: `${heading} (3/4)`, placeHolder: 'Kind' });
  if (kind === undefined) return undefined;
  const tags = await vscode.window.showInputBox({
    title: `${heading} (4/4)`, prompt: 'Tags, separated by commas', value: (p.tags ?? []).join(', '),
    validateInput: (value) => (parseTags(value).length > 20 ? 'At most 20 tags' : undefined),
  });
  if (tags === undefined) return undefined;

  const changes: Record<string, unknown> = {};
  if (title.trim() !== p.title) changes.title = title.trim();
  if (note !== noteLine) changes.note = lineToNote(note);
  if (kind.value !== p.kind) changes.kind = kind.value;
  if ([...parseTags(tags)].sort().join('\n') !== [...(p.tags ?? [])].sort().join('\n')) changes.tags = parseTags(tags); // the server sorts them
  const fields = Object.keys(changes);
  if (fields.length === 0) {
    messages.info(say.updated(p, []));
    return p;
  }
  const after = await server.execute<Pattern>('scms.update', { patternId: p.id, ...changes });
  messages.info(say.updated(after, fields));
  return after;
}
