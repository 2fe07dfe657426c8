// The language client: created once per command line, started, restarted, and asked to run commands.
import * as vscode from 'vscode';
import {
  CloseAction, ErrorAction, ExecuteCommandRequest, LanguageClient, LanguageClientOptions, RevealOutputChannelOn,
  ServerOptions, State,
} from 'vscode-languageclient/node';
import { createPrivateEnvironment, findInterpreter, probe } from './environment';
import { initializationOptions, serverCommandLine, settingKeys } from './launch';
import { Messages } from './messages';

export type ServerState = 'starting' | 'running' | 'stopped' | 'failed';
export interface MemoryChange { reason: string; patternIds: string[] }

const HOVER_COMMANDS = ['scms.accept', 'scms.reject', 'scms.promote'];

export class Server implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private commandLine = '';
  private crashes: number[] = [];
  private readonly stateEmitter = new vscode.EventEmitter<ServerState>();
  private readonly changeEmitter = new vscode.EventEmitter<MemoryChange>();
  readonly onDidChangeState = this.stateEmitter.event;
  readonly onDidChangeMemory = this.changeEmitter.event;
  state: ServerState = 'stopped';

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly messages: Messages,
  ) {}

  private setState(state: ServerState): void {
    this.state = state;
    this.stateEmitter.fire(state);
  }

  /** The settings the server understands, read from every key the manifest contributes. */
  settings(): Record<string, unknown> {
    const config = vscode.workspace.getConfiguration('scms', vscode.workspace.workspaceFolders?.[0]?.uri);
    const flat: Record<string, unknown> = {};
    for (const key of settingKeys(this.context.extension.packageJSON)) flat[key] = config.get(key);
    return initializationOptions(flat);
  }

  async start(): Promise<void> {
    if (!vscode.workspace.workspaceFolders?.length) {
      this.log.info('no folder is open: SCMS starts when one is');
      this.setState('stopped');
      return;
    }
    this.setState('starting');
    let interpreter = await findInterpreter(this.context, this.messages, vscode.workspace.workspaceFolders[0].uri);
    this.log.info(`Python for the server (${interpreter.source}): ${interpreter.command.join(' ')}`);
    const verdict = await probe(interpreter.command);
    if (!verdict.ok) {
      if (verdict.reason === 'too-old' || verdict.reason === 'not-python') {
        const choice = await this.messages.error(`${verdict.message} Set "scms.server.interpreter" to a Python 3.11+.`, 'Open Settings');
        if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'scms.server.interpreter');
        this.setState('failed');
        return;
      }
      const choice = await this.messages.ask(
        `${verdict.message} Create a private environment for it (this downloads its dependencies)?`,
        'Create Environment', 'Choose Interpreter');
      if (choice === 'Choose Interpreter') void vscode.commands.executeCommand('workbench.action.openSettings', 'scms.server.interpreter');
      if (choice !== 'Create Environment' || !(await createPrivateEnvironment(this.context, interpreter.command, this.log))) {
        if (choice === 'Create Environment') await this.messages.error('SCMS: setting up the server failed.');
        this.setState('failed');
        return;
      }
      interpreter = await findInterpreter(this.context, this.messages);
    }
    await this.launch(interpreter.command);
  }

  private async launch(interpreter: string[]): Promise<void> {
    const { command, args } = serverCommandLine(interpreter);
    const line = [command, ...args].join(' ');
    if (this.client && this.commandLine !== line) {
      await this.client.dispose().catch(() => undefined);
      this.client = undefined;
    }
    if (!this.client) {
      this.commandLine = line;
      this.client = this.create(command, args);
    }
    try {
      await this.client.start();
      this.setState('running');
    } catch (error) {
      await this.messages.error(`SCMS: the server did not start: ${(error as Error).message}`);
      this.setState('failed');
    }
  }

  private create(command: string, args: string[]): LanguageClient {
    const serverOptions: ServerOptions = {
      command, args, options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, env: { ...process.env, PYTHONUNBUFFERED: '1' } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file' }],
      outputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: this.settings(),
      markdown: { isTrusted: { enabledCommands: HOVER_COMMANDS }, supportHtml: false },
      middleware: {
        executeCommand: async (name, commandArgs, next) => {
          try {
            return await next(name, commandArgs);
          } catch (error) {
            await this.messages.error(`SCMS: ${(error as Error).message}`);
            return undefined;
          }
        },
      },
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue }),
        closed: () => this.closed(),
      },
    };
    const client = new LanguageClient('scms', 'SCMS', serverOptions, clientOptions);
    client.onNotification('scms/didChange', (change: MemoryChange) => this.changeEmitter.fire(change));
    client.onDidChangeState((event) => {
      if (event.newState === State.Stopped && this.state === 'running') this.setState('stopped');
    });
    return client;
  }

  private closed(): { action: CloseAction; handled: boolean } {
    const now = Date.now();
    this.crashes = [...this.crashes.filter((time) => now - time < 180_000), now];
    if (this.crashes.length > 3) {
      this.setState('failed');
      void this.messages.error('SCMS: the server stopped 4 times in 3 minutes and will not be restarted. '
        + 'See the output, then run "SCMS: Restart Server".', 'Restart Server').then((choice) => {
        if (choice === 'Restart Server') void this.restart();
      });
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    this.log.warn('the server stopped; restarting it');
    return { action: CloseAction.Restart, handled: true };
  }

  async restart(): Promise<void> {
    this.crashes = [];
    if (this.client?.isRunning()) await this.client.stop().catch(() => undefined);
    await this.start();
  }

  sendSettings(): void {
    if (this.client?.isRunning()) {
      void this.client.sendNotification('workspace/didChangeConfiguration', { settings: { scms: this.settings() } });
    }
  }

  /** Run a server command; errors come back as exceptions carrying the server's message. */
  async execute<T>(command: string, argument: Record<string, unknown> = {}): Promise<T> {
    if (!this.client?.isRunning()) {
      throw new Error(this.state === 'starting' ? 'the server is still starting' : 'the server is not running; run "SCMS: Restart Server"');
    }
    return this.client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] }) as Promise<T>;
  }

  async dispose(): Promise<void> {
    await this.client?.dispose().catch(() => undefined);
  }
}
