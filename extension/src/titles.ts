// The title a new pattern is offered with, computed from its code (no `vscode` module, so Node's test runner tests
// it): the name the first definition line gives, turned into words, and the first line of its docstring or of the
// comment above or under it: `def copyfileobj(…):` + `"""copy data from file-like object fsrc…"""` →
// "copyfileobj: copy data from file-like object fsrc…". Without a name, the comment; without either, the first line.

export const MAX_TITLE = 100; // the server takes 200; a title is read in a tree row and a hover card

const NAMED = [
  // def, class, function, fn, func (with Go's receiver), and the type-like keywords, after any modifiers
  /^(?:(?:export|default|pub(?:\([\w:]+\))?|public|private|protected|internal|static|abstract|final|sealed|async|unsafe|extern|declare|data|open)\s+)*(?:def|class|function\*?|fn|func|interface|struct|enum|trait|type|impl|module|object|record|protocol)\s+(?:\([^)]*\)\s*)?([A-Za-z_$][\w$]*)/,
  /^(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]*)?=/, // const retry = (…) =>
  // a method: modifiers, a return type, then name(…) and its opening brace — `if (` and the like are not names
  /^(?:(?:public|private|protected|internal|static|async|final|override|virtual|abstract|readonly|synchronized|get|set)\s+)*(?:(?!(?:return|new|throw|await|yield|else|case|typeof)\s)[\w$<>[\],.?]+\s+)?([A-Za-z_$][\w$]*)\s*\(.*\{$/,
];
const NOT_NAMES = new Set(['if', 'for', 'while', 'switch', 'catch', 'return', 'with', 'elif', 'else', 'match', 'print', 'await', 'yield',
  'new', 'throw', 'raise', 'assert', 'super', 'this', 'self', 'typeof', 'sizeof', 'do', 'try', 'foreach', 'until', 'unless', 'loop']);
const COMMENT = /^(?:#(?!!)|\/\/\/?|\/\*\*?|\*(?!\/)|--|;+|[rRuUbB]?(?:"""|'''))\s?(.*)$/;
const PRAGMA = /^(?:type:|noqa|pylint:|pragma|eslint|prettier|ts-|@ts-|-\*-|fmt:|isort:|region|endregion)/i;

const clean = (text: string) => text.replace(/\s*(?:"""|'''|\*\/)\s*$/, '').replace(/\s+/g, ' ').trim().replace(/[.:]$/, '');

/** `copy_file_obj` → "copy file obj", `getUserName` → "get user name", `HTTPServer` → "HTTP server". */
export function words(name: string): string {
  return name.replace(/^[_$]+|[_$]+$/g, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[_\-$\s]+/).filter(Boolean)
    .map((word) => (/^[A-Z0-9]{2,}$/.test(word) ? word : word.toLowerCase()))
    .join(' ');
}

/** The name a definition line gives, or undefined (a plain statement, a call, a keyword). */
export function definedName(line: string): string | undefined {
  const text = line.trim();
  for (const pattern of NAMED) {
    const name = pattern.exec(text)?.[1];
    if (name && !NOT_NAMES.has(name)) return name;
  }
  return undefined;
}

/** A comment's or docstring's text without its markers ('' for a marker alone or a pragma). */
export function commentText(line: string): string | undefined {
  const match = COMMENT.exec(line.trim());
  if (!match) return undefined;
  const text = clean(match[1]);
  return PRAGMA.test(text) || /^[-=*#/]+$/.test(text) ? '' : text;
}

function clip(text: string, limit = MAX_TITLE): string {
  if (text.length <= limit) return text;
  const cut = text.slice(0, limit - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > limit / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:–—-]+$/, '')}…`;
}

const BLOCK_OPENER = /^(?:[rRuUbB]?(?:"""|''')|\/\*\*?)$/; // a docstring or block comment whose text starts on the next line
const ONE_QUOTE_DOCSTRING = /^[rRuUbB]?(?:'([^']+)'|"([^"]+)")$/; // 'Return a > b.' (functools writes its docstrings so)
const DIRECTIVE = /^use \w+$/; // 'use strict' opens a JavaScript body; it says nothing
const SIGNATURE_END = /(?::|\{|=>)\s*(?:(?:#|\/\/).*)?$/;
const isCommentish = (line: string) => {
  const text = line.trim();
  return text !== '' && (commentText(text) !== undefined || text === '*/' || text.startsWith('@'));
};

/** The first line of text of the comment block right above line `code` (decorators may stand between). */
function commentAbove(lines: string[], code: number): string | undefined {
  let top = code;
  while (top > 0 && isCommentish(lines[top - 1])) top--;
  for (let i = top; i < code; i++) {
    const text = commentText(lines[i]);
    if (text) return text;
  }
  return undefined;
}

/** The docstring or comment that opens the body of the definition on line `code` (its signature may span lines). */
function commentBelow(lines: string[], code: number): string | undefined {
  let end = code;
  for (let i = code; i < Math.min(lines.length, code + 8); i++) {
    if (SIGNATURE_END.test(lines[i].trim())) { end = i; break; }
  }
  let i = end + 1;
  while (i < lines.length && !lines[i].trim()) i++;
  const line = lines[i]?.trim();
  if (!line) return undefined;
  const text = commentText(line);
  const literal = text === undefined ? ONE_QUOTE_DOCSTRING.exec(line) : null;
  const said = literal ? literal[1] ?? literal[2] : undefined;
  if (said !== undefined) return DIRECTIVE.test(said) || PRAGMA.test(said) ? undefined : clean(said) || undefined;
  if (text || text === undefined || !BLOCK_OPENER.test(line)) return text || undefined;
  const next = lines[i + 1]?.trim();
  return next ? clean(commentText(next) ?? next) || undefined : undefined;
}

/** The title offered for a new pattern made of these lines of code. */
export function defaultTitle(lines: string[]): string {
  const code = lines.findIndex((line) => line.trim() && !isCommentish(line));
  if (code < 0) return clip(lines.map(commentText).find(Boolean) ?? '');
  const name = definedName(lines[code]);
  const comment = (name ? commentBelow(lines, code) : undefined) ?? commentAbove(lines, code);
  if (name && comment) return clip(`${words(name) || name}: ${comment}`);
  if (name) return clip(words(name) || name);
  if (comment) return clip(comment);
  return clip(lines[code].trim().replace(/\s*[:{]\s*$/, ''), 80);
}
