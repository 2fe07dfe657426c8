// The language client: created once per command line, started, restarted, and asked to run commands.
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient, Middleware, State } from 'vscode-languageclient/node';
import { MemoryChange, createClient, forgetCrashes } from './client';
import { prepareInterpreter } from './environment';
import { Interpreter } from './interpreter';
import { initializationOptions, serverCommandLine, settingKeys } from './launch';
import { Messages } from './messages';

export type ServerState = 'starting' | 'running' | 'stopped' | 'failed';

/** The Python that passed the health check for the last start, and the folder the server serves. */
export interface Launch {
  interpreter: Interpreter;
  folder: vscode.Uri;
}

export const NO_FOLDER = "Open a folder first: SCMS keeps its memory in the folder's .scms/ directory.";

export class Server implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private commandLine = '';
  private starting: Promise<void> | undefined;
  private stopExpected = false; // our own stop, or the client's automatic restart: its Stopped is not a failure
  private readonly stateEmitter = new vscode.EventEmitter<ServerState>();
  private readonly changeEmitter = new vscode.EventEmitter<MemoryChange>();
  private readonly launchEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeState = this.stateEmitter.event;
  readonly onDidChangeMemory = this.changeEmitter.event;
  /** The Python or the folder the server runs with changed (the MCP server follows them). */
  readonly onDidChangeLaunch = this.launchEmitter.event;
  state: ServerState = 'starting';
  private launched: Launch | undefined;
  /** Set before the first start: how card links and code actions run (middleware.ts). */
  middleware: Middleware = {};

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly messages: Messages,
  ) {}

  /** What the last start ran with; undefined: no folder, or no Python that can run scms. */
  get launch(): Launch | undefined {
    return this.launched;
  }

  private setLaunch(launch: Launch | undefined): void {
    const key = (l: Launch | undefined) => (l ? JSON.stringify([l.interpreter.command, l.folder.toString()]) : '');
    const changed = key(launch) !== key(this.launched);
    this.launched = launch;
    if (changed) this.launchEmitter.fire();
  }

  private setState(state: ServerState): void {
    if (state === this.state) return;
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

  /** Start the server; a call while a start is under way waits for that one instead of starting (and asking) again. */
  start(): Promise<void> {
    this.starting ??= this.startOnce().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) {
      this.log.info('no folder is open: SCMS starts when one is');
      this.setLaunch(undefined);
      this.setState('stopped');
      return;
    }
    this.setState('starting');
    const interpreter = await prepareInterpreter(this.context, this.messages, this.log, folder.uri);
    this.setLaunch(interpreter && { interpreter, folder: folder.uri });
    if (!interpreter) return this.setState('failed');
    this.log.info(`Python for the server (${interpreter.source}): ${interpreter.command.join(' ')}`);
    const { command, args } = serverCommandLine(interpreter.command);
    const line = [command, ...args].join(' ');
    if (this.client && this.commandLine !== line) {
      this.stopExpected = this.client.isRunning();
      await this.client.dispose().catch(() => undefined);
      this.client = undefined;
    }
    if (!this.client) {
      this.commandLine = line;
      this.client = createClient(command, args, {
        log: this.log, settings: () => this.settings(), closed: (restarting) => this.closed(restarting),
        onState: (state) => this.followClient(state), onMemoryChange: (change) => this.changeEmitter.fire(change),
        middleware: this.middleware,
      });
    }
    try {
      await this.client.start();
      this.setState('running');
    } catch (error) {
      void this.messages.error(`SCMS: the server did not start: ${(error as Error).message}`);
      this.setState('failed');
    }
  }

  /** Follow the client through its own restarts too: Stopped -> Starting -> Running after a crash. */
  private followClient(state: State): void {
    if (state === State.Starting) this.setState('starting');
    else if (state === State.Running) this.setState('running');
    else if (this.stopExpected) this.stopExpected = false;
    else if (this.state !== 'failed') this.setState('failed'); // it failed to start
  }

  /** The server's connection closed without our asking: the library restarts it (up to its limit) or gives up
   *  and says so itself; the status bar and tree follow either way. */
  private closed(restarting: boolean): void {
    if (restarting) {
      this.log.warn('the server stopped; the client restarts it');
      this.stopExpected = true;
      this.setState('starting');
    } else {
      this.setState('failed');
    }
  }

  async restart(): Promise<void> {
    if (!vscode.workspace.workspaceFolders?.length) {
      void this.messages.replyWarning(`SCMS: ${NO_FOLDER}`);
      return;
    }
    if (this.starting) {
      // a start under way may be waiting for an answer (create the private environment?): say so rather than nothing
      this.messages.info('SCMS: the server is still starting; if a question about its Python is open, answer it first.');
      return this.starting;
    }
    if (this.client) forgetCrashes(this.client);
    if (this.client?.isRunning()) { // stop, then start: the interpreter setting may have changed the command line
      this.setState('starting');
      this.stopExpected = true;
      await this.client.stop().catch(() => undefined);
    }
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
      if (!vscode.workspace.workspaceFolders?.length) throw new Error(NO_FOLDER);
      throw new Error(this.state === 'starting' ? 'the server is still starting' : 'the server is not running; run "SCMS: Restart Server"');
    }
    return this.client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] }) as Promise<T>;
  }

  async dispose(): Promise<void> {
    this.stopExpected = true;
    await this.client?.dispose().catch(() => undefined);
  }
}
