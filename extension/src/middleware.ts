// vscode-languageclient's middleware for SCMS: server commands run from a hover card's link or a code action go
// through PatternActions (it asks where an action is hard to undo and says what happened), and the code actions
// that make a pattern are pointed at client commands that first ask for its title and note.
import * as vscode from 'vscode';
import type { Middleware } from 'vscode-languageclient/node';
import { PatternActions } from './actions';
import { Messages } from './messages';

/** Server commands whose code actions run a client command first, which asks and then runs the server command. */
export const PROMPTING: Record<string, string> = {
  'scms.remember': 'scms.rememberRange',
  'scms.saveShape': 'scms.saveShapeAs',
};

type Item = vscode.Command | vscode.CodeAction;

/** The same code action or command, pointed at the prompting client command where there is one. */
export function rewrite<T extends Item>(item: T): T {
  const command = typeof item.command === 'string' ? (item as vscode.Command) : (item as vscode.CodeAction).command;
  const client = command && PROMPTING[command.command];
  if (command && client) command.command = client;
  return item;
}

/** The titles of the shapes the code actions offered to save, so that a dismissal can name what it dismissed. */
export const shapeTitles = new Map<string, string>();

function remember(item: Item): void {
  const command = typeof item.command === 'string' ? (item as vscode.Command) : (item as vscode.CodeAction).command;
  const argument = command?.arguments?.[0] as { shape?: unknown; title?: unknown } | undefined;
  if (command?.command === 'scms.saveShape' && typeof argument?.shape === 'string' && typeof argument.title === 'string') {
    if (shapeTitles.size > 200) shapeTitles.clear();
    shapeTitles.set(argument.shape, argument.title);
  }
}

export function createMiddleware(actions: PatternActions, messages: Messages): Middleware {
  return {
    executeCommand: async (name, args, next) => {
      try {
        const argument = (args[0] ?? {}) as Record<string, unknown>;
        if (name === 'scms.dismissShape' && typeof argument.shape === 'string' && shapeTitles.has(argument.shape)) {
          return await actions.dismissShape(argument, shapeTitles.get(argument.shape));
        }
        return await actions.fromEditor(name, argument, async () => next(name, args));
      } catch (error) {
        void messages.replyError(`SCMS: ${(error as Error).message}`); // a hover card's link or a quick fix the user chose
        return undefined;
      }
    },
    provideCodeActions: async (document, range, context, token, next) => {
      const items = await next(document, range, context, token);
      items?.forEach(remember);
      return items?.map(rewrite);
    },
  };
}
