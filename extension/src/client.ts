// The vscode-languageclient client for one server command line: its options, its hover-link trust, and the hooks
// through which the Server follows its state, the library's restart decisions and the server's memory changes.
import * as vscode from 'vscode';
import {
  CloseAction, ErrorHandler, LanguageClient, LanguageClientOptions, Middleware, RevealOutputChannelOn, ServerOptions, State,
} from 'vscode-languageclient/node';

export interface MemoryChange { reason: string; patternIds: string[] }

export interface ClientHooks {
  log: vscode.LogOutputChannel;
  /** Read at every start, so that a restart sends the settings as they are now. */
  settings: () => Record<string, unknown>;
  /** The connection closed unexpectedly; the library's policy decided whether it restarts the server. */
  closed: (restarting: boolean) => void;
  onState: (state: State) => void;
  onMemoryChange: (change: MemoryChange) => void;
  /** What runs the server commands that card links and code actions start, and rewrites those code actions. */
  middleware: Middleware;
}

/** The commands a hover card's links may run: the server's, and the client's Edit… for a link the card may carry. */
const HOVER_COMMANDS = ['scms.accept', 'scms.reject', 'scms.promote', 'scms.reanchor', 'scms.forget', 'scms.editPattern'];
/** vscode-languageclient's own policy: a crashed server is restarted up to this many times in 3 minutes. */
export const MAX_RESTARTS = 4;

const freshPolicies = new WeakMap<LanguageClient, () => void>();

/** A restart the user asked for starts the library's count of crashes afresh. */
export function forgetCrashes(client: LanguageClient): void {
  freshPolicies.get(client)?.();
}

export function createClient(command: string, args: string[], hooks: ClientHooks): LanguageClient {
  const serverOptions: ServerOptions = {
    command, args, options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, env: { ...process.env, PYTHONUNBUFFERED: '1' } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file' }],
    outputChannel: hooks.log,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    initializationOptions: hooks.settings,
    markdown: { isTrusted: { enabledCommands: HOVER_COMMANDS }, supportHtml: false },
    middleware: hooks.middleware,
  };
  let policy: ErrorHandler | undefined; // the library's default handler, created with the client it belongs to
  clientOptions.errorHandler = {
    error: (error, message, count) => policy!.error(error, message, count),
    closed: async () => {
      const decision = await policy!.closed();
      hooks.closed(decision.action === CloseAction.Restart);
      return decision;
    },
  };
  const client = new LanguageClient('scms', 'SCMS', serverOptions, clientOptions);
  policy = client.createDefaultErrorHandler(MAX_RESTARTS);
  freshPolicies.set(client, () => (policy = client.createDefaultErrorHandler(MAX_RESTARTS)));
  client.onNotification('scms/didChange', hooks.onMemoryChange);
  client.onDidChangeState(({ newState }) => hooks.onState(newState));
  return client;
}
