// SCMS for VS Code and Cursor: starts the language server and wires its commands, tree view and status bar, and
// offers the same memory to the editor's agents as an MCP server.
import * as vscode from 'vscode';
import { PatternActions } from './actions';
import { registerCommands } from './commands';
import { settingsNeedingRestart } from './launch';
import { McpOffer } from './mcp';
import { MemoryTree } from './memoryTree';
import { Messages } from './messages';
import { createMiddleware } from './middleware';
import { Status } from './patterns';
import { Server } from './server';
import { StatusBar } from './statusBar';

let server: Server | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('SCMS', { log: true });
  const messages = new Messages(log);
  const scms = (server = new Server(context, log, messages));
  const actions = new PatternActions(scms, messages);
  scms.middleware = createMiddleware(actions, messages);
  const tree = new MemoryTree(scms);
  const statusBar = new StatusBar();
  tree.view = vscode.window.createTreeView('scmsMemory', { treeDataProvider: tree, showCollapseAll: true });
  context.subscriptions.push(log, statusBar, scms, tree.view, vscode.window.registerFileDecorationProvider(tree));

  const refresh = async () => {
    tree.refresh();
    if (scms.state !== 'running') return;
    try {
      actions.status = await scms.execute<Status>('scms.status', {});
      statusBar.showStatus(actions.status);
    } catch (error) {
      log.warn(`status: ${(error as Error).message}`);
    }
  };
  // every state change, the automatic restart after a crash included, redraws the status bar and the tree
  scms.onDidChangeState((state) => {
    statusBar.showState(state);
    void refresh();
  });
  scms.onDidChangeMemory(() => void refresh());
  registerCommands(context, scms, messages, actions, tree, () => void refresh());
  const mcp = new McpOffer(scms, log, String(context.extension.packageJSON.version));
  context.subscriptions.push(mcp);
  mcp.register();

  let restartOffered = false;
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((event) => {
    if (!event.affectsConfiguration('scms')) return;
    if (event.affectsConfiguration('scms.server.interpreter')) return void scms.restart();
    scms.sendSettings();
    const changed = settingsNeedingRestart((section) => event.affectsConfiguration(section));
    if (changed.length === 0 || scms.state !== 'running' || restartOffered) return;
    restartOffered = true; // one question at a time, however many settings change while it is open
    const names = changed.map((key) => (key === 'learning' ? 'scms.learning.*' : `scms.${key}`)).join(', ');
    void messages.ask(`SCMS: the new ${names} takes effect when the server restarts.`, 'Restart Server').then((choice) => {
      restartOffered = false;
      if (choice === 'Restart Server') void scms.restart();
    });
  }));
  context.subscriptions.push(vscode.workspace.onDidChangeWorkspaceFolders(() => {
    if (scms.state === 'stopped') void scms.start(); // a first folder; start() itself ignores a call while it runs
  }));

  if (!context.globalState.get('scms.walkthroughShown')) {
    void context.globalState.update('scms.walkthroughShown', true);
    void vscode.commands.executeCommand('workbench.action.openWalkthrough', `${context.extension.id}#scms.welcome`, false);
  }
  await scms.start();
}

export async function deactivate(): Promise<void> {
  await server?.dispose();
}
