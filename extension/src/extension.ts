// SCMS for VS Code and Cursor: starts the language server and wires its commands, tree view and status bar.
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { MemoryTree } from './memoryTree';
import { Messages } from './messages';
import { Status } from './patterns';
import { Server } from './server';
import { StatusBar } from './statusBar';

let server: Server | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('SCMS', { log: true });
  const messages = new Messages(log);
  server = new Server(context, log, messages);
  const tree = new MemoryTree(server);
  const statusBar = new StatusBar();
  context.subscriptions.push(log, statusBar, server,
    vscode.window.createTreeView('scmsMemory', { treeDataProvider: tree, showCollapseAll: true }));

  const refresh = async () => {
    tree.refresh();
    if (server?.state !== 'running') return;
    try {
      statusBar.showStatus(await server.execute<Status>('scms.status', {}));
    } catch (error) {
      log.warn(`status: ${(error as Error).message}`);
    }
  };
  server.onDidChangeState((state) => {
    statusBar.showState(state);
    void refresh();
  });
  server.onDidChangeMemory(() => void refresh());
  registerCommands(context, server, messages, () => void refresh());

  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((event) => {
    if (!event.affectsConfiguration('scms')) return;
    if (event.affectsConfiguration('scms.server.interpreter')) void server?.restart();
    else server?.sendSettings();
  }));
  context.subscriptions.push(vscode.workspace.onDidChangeWorkspaceFolders(() => {
    if (server?.state !== 'running') void server?.start();
  }));

  if (!context.globalState.get('scms.walkthroughShown')) {
    void context.globalState.update('scms.walkthroughShown', true);
    void vscode.commands.executeCommand('workbench.action.openWalkthrough', `${context.extension.id}#scms.welcome`, false);
  }
  await server.start();
}

export async function deactivate(): Promise<void> {
  await server?.dispose();
}
