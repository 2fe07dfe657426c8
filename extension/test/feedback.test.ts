// Node's test runner over what the extension says and offers around an action: the title a new pattern is offered
// with, why a candidate is not eligible, the status-bar messages, the memory view's filter, the code actions that
// are pointed at prompting client commands, the note on one line, and the manifest's menus for them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { lineToNote, noteToLine, parseTags } from '../src/editing';
import * as say from '../src/feedback';
import { filterDescription, filterMessage, matchesFilter } from '../src/filter';
import { PROMPTING, rewrite } from '../src/middleware';
import type { Pattern } from '../src/patterns';
import { defaultTitle, definedName, words } from '../src/titles';

const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));

function pattern(fields: Partial<Pattern> = {}): Pattern {
  return {
    id: 'p1', title: 'Copy in chunks', body: '', snippet: 'x', kind: 'pattern', languages: ['python'], tags: [], tier: 'session',
    status: 'candidate', accepted_uses: 0, rejected_uses: 0, score: 0.6, eligible: false, file: null, evidence: [], ...fields,
  };
}

test('default title: the definition\'s name in words, and the first docstring or comment line', () => {
  assert.equal(defaultTitle(['def copyfileobj(fsrc, fdst, length=0):', '    """copy data from file-like object fsrc to file-like object fdst"""', '    if not length:']),
    'copyfileobj: copy data from file-like object fsrc to file-like object fdst');
  assert.equal(defaultTitle(['def _copy_file_range(src, dst):', '    total = 0']), 'copy file range');
  assert.equal(defaultTitle(['def _gt_from_lt(self, other):', "    'Return a > b.  Computed by @total_ordering from (not a < b) and (a != b).'"]),
    'gt from lt: Return a > b. Computed by @total_ordering from (not a < b) and (a != b)');
  assert.equal(defaultTitle(['function run(x) {', "  'use strict';", '  return x;']), 'run');
  assert.equal(defaultTitle(['def f():', "    'x' + y"]), 'f'); // an expression, not a docstring
  assert.equal(defaultTitle(['def f():', '    "a" + "b"']), 'f');
  assert.equal(defaultTitle(['async def fetchUserName(self):', '    """', '    Fetch the name, retrying twice.', '    """']), 'fetch user name: Fetch the name, retrying twice');
  assert.equal(defaultTitle(['# Retry with backoff; never on 4xx.', '@retry(3)', 'def call(url):', '    pass']), 'call: Retry with backoff; never on 4xx');
  assert.equal(defaultTitle(['/**', ' * Parses the HTTP response.', ' */', 'export async function parseHTTPResponse(raw: string): Promise<R> {']),
    'parse HTTP response: Parses the HTTP response');
  assert.equal(defaultTitle(['class TarFile(object):', '    """The TarFile Class provides an interface to tar archives."""']),
    'tar file: The TarFile Class provides an interface to tar archives');
  assert.equal(defaultTitle(['func (s *Server) HandleConn(c net.Conn) {', '\t// one goroutine per connection', '\tgo s.serve(c)']), 'handle conn: one goroutine per connection');
  assert.equal(defaultTitle(['  public static int retryCount(String key) {', '    return 3;']), 'retry count');
  assert.equal(defaultTitle(['const withRetry = async (fn) => {', '  for (;;) {']), 'with retry');
  // no definition: the comment above, else the first line as it is (no trailing colon or brace)
  assert.equal(defaultTitle(['    # read in chunks until EOF', '    while True:', '        buf = read(n)']), 'read in chunks until EOF');
  assert.equal(defaultTitle(['', '    while buf := fsrc_read(length):', '        fdst_write(buf)']), 'while buf := fsrc_read(length)');
  assert.equal(defaultTitle(['if (x) {', '  y();']), 'if (x)');
  assert.equal(defaultTitle(['foo(bar)']), 'foo(bar)'); // a call is not a definition
  // pragmas are not descriptions; long titles are cut at a word
  assert.equal(defaultTitle(['def f():  # noqa', '    # type: ignore', '    return 1']), 'f');
  const long = defaultTitle(['def f():', `    """${'word '.repeat(40)}"""`]);
  assert.ok(long.length <= 100 && long.endsWith('…'), long);
});

test('names and words', () => {
  assert.equal(words('copyfileobj'), 'copyfileobj');
  assert.equal(words('__init__'), 'init');
  assert.equal(words('HTTPServer'), 'HTTP server');
  assert.equal(words('get_user_name'), 'get user name');
  assert.equal(definedName('pub(crate) fn read_all(r: &mut R) -> io::Result<()> {'), 'read_all');
  assert.equal(definedName('while True:'), undefined);
  assert.equal(definedName('return compute(x) {'), undefined);
});

test('why a candidate is not eligible for promotion (the server\'s rule: enough accepts, more accepts than rejections)', () => {
  assert.deepEqual(say.notEligibleReasons(pattern({ accepted_uses: 1 }), 2), ['1 of 2 accepted uses']);
  assert.deepEqual(say.notEligibleReasons(pattern({ accepted_uses: 0 }), 1), ['0 of 1 accepted use']);
  assert.deepEqual(say.notEligibleReasons(pattern({ accepted_uses: 1, rejected_uses: 2 }), 2), ['1 of 2 accepted uses', 'more rejections (2) than accepts (1)']);
  assert.deepEqual(say.notEligibleReasons(pattern({ accepted_uses: 2, rejected_uses: 2 }), 2), ['as many rejections (2) as accepts (2)']);
  assert.deepEqual(say.notEligibleReasons(pattern({ accepted_uses: 2, eligible: true }), 2), []);
  assert.deepEqual(say.notEligibleReasons(pattern({ tier: 'validated' }), 2), []);
  const ask = say.confirmPromote(pattern({ accepted_uses: 1 }), ['1 of 2 accepted uses']);
  assert.equal(ask.message, '“Copy in chunks” is not eligible for promotion: 1 of 2 accepted uses.');
  assert.equal(ask.action, 'Promote Anyway');
  assert.match(say.confirmDemote(pattern({ tier: 'validated', file: '.scms/patterns/copy.md' })).detail, /\.scms\/patterns\/copy\.md is deleted/);
  assert.doesNotMatch(say.confirmForget(pattern()).detail, /deleted/);
  assert.match(say.confirmForget(pattern({ tier: 'validated', file: '.scms/patterns/copy.md' })).detail, /Restore brings it back.*copy\.md is deleted/);
});

test('the status-bar messages after each action', () => {
  assert.equal(say.accepted({ ...pattern({ accepted_uses: 2, eligible: true }), counted: true }, 2), 'SCMS: accepted “Copy in chunks” — 2 accepted uses, eligible for promotion');
  assert.equal(say.accepted({ ...pattern({ accepted_uses: 1 }), counted: true }, 2), 'SCMS: accepted “Copy in chunks” — 1 of 2 accepted uses for promotion');
  assert.equal(say.accepted({ ...pattern({ accepted_uses: 2, rejected_uses: 3 }), counted: true }, 2),
    'SCMS: accepted “Copy in chunks” — 2 accepted uses; not eligible: more rejections (3) than accepts (2)');
  assert.equal(say.accepted({ ...pattern({ accepted_uses: 1, tier: 'validated' }) }, 2), 'SCMS: accepted “Copy in chunks” — 1 accepted use');
  assert.equal(say.accepted({ ...pattern({ accepted_uses: 1 }), counted: false }, 2), 'SCMS: not counted: this code is already evidence of “Copy in chunks”');
  assert.equal(say.rejected(pattern({ rejected_uses: 1 }), true), 'SCMS: rejected “Copy in chunks” here; it is not suggested here again');
  assert.equal(say.rejected(pattern({ rejected_uses: 1 }), false), 'SCMS: rejected “Copy in chunks” (1 rejection)');
  assert.equal(say.rejected(pattern(), true, 'does not apply here'), 'SCMS: noted: “Copy in chunks” does not apply here');
  assert.equal(say.promoted(pattern({ tier: 'validated', file: '.scms/patterns/copy.md' })), 'SCMS: promoted “Copy in chunks” to the validated tier: .scms/patterns/copy.md');
  assert.equal(say.demoted(pattern(), '.scms/patterns/copy.md'), 'SCMS: demoted “Copy in chunks” to a session candidate; removed .scms/patterns/copy.md');
  assert.equal(say.forgot(pattern()), 'SCMS: forgot “Copy in chunks”; it is in the archive, and Restore brings it back');
  assert.equal(say.restored(pattern()), 'SCMS: restored “Copy in chunks” as a session candidate');
  assert.equal(say.reanchored(pattern()), 'SCMS: re-anchored “Copy in chunks” to where its code is now');
  assert.equal(say.reanchored(pattern({ stale: [{ file: 'a.py', start_line: 1, end_line: 2 }] })), 'SCMS: re-anchored “Copy in chunks” to where its code is now; 1 place could not be found');
  const places = [1, 2, 3].map((n) => ({ file: `f${n}.py`, start_line: n, end_line: n + 4 }));
  assert.equal(say.savedShape(pattern({ evidence: places })), 'SCMS: saved “Copy in chunks” as a candidate (3 places)');
  assert.equal(say.dismissedShape('`open` … `read` loop'), 'SCMS: dismissed “`open` … `read` loop”; it is not suggested again');
  assert.equal(say.updated(pattern(), ['note']), 'SCMS: updated the note of “Copy in chunks”');
  assert.equal(say.updated(pattern(), ['title', 'note', 'tags']), 'SCMS: updated the title, note and tags of “Copy in chunks”');
  assert.equal(say.updated(pattern(), []), 'SCMS: nothing changed in “Copy in chunks”');
  assert.equal(say.promotedEligible([]), 'SCMS: nothing is eligible yet; a candidate needs enough accepted uses');
  // no "forgetd", no "1 uses", no "1 accepted uses" anywhere
  for (const text of [say.forgot(pattern()), say.accepted({ ...pattern({ accepted_uses: 1, tier: 'validated' }) }, 1), say.plural(1, 'accepted use')]) {
    assert.doesNotMatch(text, /forgetd|\b1 (accepted )?uses\b/);
  }
});

test('the filter: every word, in any case, in the title, note or tags', () => {
  const p = pattern({ title: 'Retry with backoff', body: 'Never retry a 4xx.', tags: ['http', 'Resilience'] });
  assert.ok(matchesFilter(p, 'retry'));
  assert.ok(matchesFilter(p, 'BACKOFF 4xx'));
  assert.ok(matchesFilter(p, 'resilience'));
  assert.ok(matchesFilter(p, '  '));
  assert.ok(!matchesFilter(p, 'retry grpc'));
  assert.ok(!matchesFilter(pattern({ snippet: 'grpc' }), 'grpc')); // the code is not searched: the hover recalls by code
  assert.equal(filterDescription(' retry ', 2, 5), '“retry” · 2 of 5');
  assert.equal(filterMessage('retry', 1, 1), '1 of 1 pattern holds “retry” in its title, note or tags.');
  assert.equal(filterMessage('retry', 2, 5), '2 of 5 patterns hold “retry” in their title, note or tags.');
  assert.match(filterMessage('grpc', 0, 5), /^No pattern's title, note or tags hold “grpc”/);
});

test('the code actions that make a pattern run a client command that asks first; the others are left alone', () => {
  assert.deepEqual(PROMPTING, { 'scms.remember': 'scms.rememberRange', 'scms.saveShape': 'scms.saveShapeAs' });
  const argument = { uri: 'file:///w/a.py', range: { start: { line: 1, character: 0 }, end: { line: 4, character: 0 } } };
  const remember = rewrite({ title: 'SCMS: Remember selection as pattern', command: { title: 'x', command: 'scms.remember', arguments: [argument] } } as never);
  assert.deepEqual(remember, { title: 'SCMS: Remember selection as pattern', command: { title: 'x', command: 'scms.rememberRange', arguments: [argument] } });
  const shape = rewrite({ title: 'SCMS: Save as pattern…', command: { title: 'x', command: 'scms.saveShape', arguments: [{ shape: 'ab12', title: 'T' }] } } as never);
  assert.equal((shape as { command: { command: string } }).command.command, 'scms.saveShapeAs');
  const accept = rewrite({ title: 'SCMS: Accept', command: { title: 'x', command: 'scms.accept', arguments: [{}] } } as never);
  assert.equal((accept as { command: { command: string } }).command.command, 'scms.accept');
  assert.equal((rewrite({ title: 'bare', command: 'scms.remember', arguments: [argument] } as never) as { command: string }).command, 'scms.rememberRange');
});

test('a note on one line: line breaks as ⏎ and back; tags separated by commas', () => {
  assert.equal(noteToLine('first\nsecond'), 'first ⏎ second');
  assert.equal(lineToNote('first ⏎ second⏎third'), 'first\nsecond\nthird');
  assert.equal(lineToNote(noteToLine('one line')), 'one line');
  assert.deepEqual(parseTags(' io, retry ,, io,http '), ['io', 'retry', 'http']);
});

test('the manifest: every menu entry names a declared command; the view is "Memory" in the SCMS container', () => {
  const declared = new Set(manifest.contributes.commands.map((c: { command: string }) => c.command));
  for (const [where, entries] of Object.entries<{ command: string }[]>(manifest.contributes.menus)) {
    for (const entry of entries) assert.ok(declared.has(entry.command), `${where}: ${entry.command} is not declared`);
  }
  const [view] = manifest.contributes.views.scms;
  assert.equal(view.name, 'Memory'); // VS Code titles a container's only view "SCMS: MEMORY"; "SCMS Memory" gave "SCMS: SCMS MEMORY"
  const items = manifest.contributes.menus['view/item/context'].map((e: { command: string; when: string }) => `${e.command} ${e.when}`);
  assert.ok(items.some((e: string) => e.startsWith('scms.editPattern ')));
  assert.ok(items.some((e: string) => e.startsWith('scms.restorePattern ') && e.includes('archive')));
  assert.ok(items.some((e: string) => e.startsWith('scms.reanchorPattern ') && e.includes('stale')));
  const titles = manifest.contributes.menus['view/title'].map((e: { command: string }) => e.command);
  assert.ok(titles.includes('scms.filterMemory') && titles.includes('scms.clearMemoryFilter'));
  // client commands the code actions run are not the server's ids (vscode-languageclient registers those)
  for (const client of Object.values(PROMPTING)) assert.ok(!Object.keys(PROMPTING).includes(client));
});
