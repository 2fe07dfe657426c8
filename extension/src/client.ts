// The vscode-languageclient client for one server command line: its options, its hover-link trust, and the hooks
// through which the Server follows its state, its crashes and the server's memory changes.
import * as vscode from 'vscode';
import {
  CloseAction, ErrorAction, LanguageClient, LanguageClientOptions, RevealOutputChannelOn, ServerOptions, State,
} from 'vscode-languageclient/node';
import { Messages } from './messages';

export interface MemoryChange { reason: string; patternIds: string[] }

export interface ClientHooks {
  log: vscode.LogOutputChannel;
  messages: Messages;
  settings: Record<string, unknown>;
  closed: () => { action: CloseAction; handled: boolean };
  onState: (state: State) => void;
  onMemoryChange: (change: MemoryChange) => void;
}

const HOVER_COMMANDS = ['scms.accept', 'scms.reject', 'scms.promote'];

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
    middleware: {
      executeCommand: async (name, commandArgs, next) => {
        try {
          return await next(name, commandArgs);
        } catch (error) {
          void hooks.messages.replyError(`SCMS: ${(error as Error).message}`); // a hover card's link the user clicked
          return undefined;
        }
      },
    },
    errorHandler: {
      error: () => ({ action: ErrorAction.Continue }),
      closed: hooks.closed,
    },
  };
  const client = new LanguageClient('scms', 'SCMS', serverOptions, clientOptions);
  client.onNotification('scms/didChange', hooks.onMemoryChange);
  client.onDidChangeState(({ newState }) => hooks.onState(newState));
  return client;
}
