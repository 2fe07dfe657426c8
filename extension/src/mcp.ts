// Offers the SCMS memory to the editor's AI agents as an MCP server (`scms mcp`, stdio), with no config file to
// write: in Cursor through vscode.cursor.mcp.registerServer, elsewhere through VS Code's
// vscode.lm.registerMcpServerDefinitionProvider (final in VS Code 1.101). Both are feature-detected, so
// engines.vscode stays low for Cursor; where neither works, one line in the SCMS output points to docs/mcp.md.
// The server runs on the language server's Python, for the language server's folder, with the language server's
// settings (in SCMS_SETTINGS), by words only when scms.recall.embeddings is off; a changed setting offers it
// again, and scms.mcp.enabled turns the offer off and on without a restart.
import * as vscode from 'vscode';
import { MCP_PROVIDER_ID, mcpCommandLine } from './launch';
import type { Server } from './server';

const LABEL = 'SCMS Pattern Memory';
const CURSOR_NAME = 'scms';
const BY_HAND = 'see docs/mcp.md to configure it by hand';
const SETTINGS_ENV = 'SCMS_SETTINGS'; // read by `scms mcp` (server/scms/mcp.py)

// The little of both APIs used here, declared locally: @types/vscode stays at 1.82.
interface StdioDefinition {
  label: string;
  command: string;
  args: string[];
  env: Record<string, string | number | null>;
  version?: string;
  cwd?: vscode.Uri;
}
interface DefinitionProvider {
  onDidChangeMcpServerDefinitions?: vscode.Event<void>;
  provideMcpServerDefinitions(token: vscode.CancellationToken): vscode.ProviderResult<StdioDefinition[]>;
  resolveMcpServerDefinition?(server: StdioDefinition, token: vscode.CancellationToken): vscode.ProviderResult<StdioDefinition>;
}
interface CursorMcp {
  registerServer?(config: { name: string; server: { command: string; args: string[]; env: Record<string, string> } }): void;
  unregisterServer?(name: string): void;
}
interface EditorMcpApis {
  lm?: { registerMcpServerDefinitionProvider?(id: string, provider: DefinitionProvider): vscode.Disposable };
  McpStdioServerDefinition?: new (label: string, command: string, args?: string[], env?: Record<string, string>, version?: string) => StdioDefinition;
  cursor?: { mcp?: CursorMcp };
}

const firstSentence = (error: unknown) => String((error as Error)?.message ?? error).split(/\.\s/)[0];

export class McpOffer implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private channel: 'vscode' | 'cursor' | undefined; // how this editor takes the definition
  private unsupported = ''; // why neither API works here
  private explained = false;
  private offered = ''; // the command line offered now; '' none

  constructor(
    private readonly server: Server,
    private readonly log: vscode.LogOutputChannel,
    private readonly version: string,
    private readonly api: EditorMcpApis = vscode as unknown as EditorMcpApis,
  ) {}

  /** Register with the editor; never throws: an editor without the API only gets one line in the output. */
  register(): void {
    try {
      this.channel = this.registerWithEditor();
    } catch (error) {
      this.unsupported = `vscode.lm.registerMcpServerDefinitionProvider: ${firstSentence(error)}`;
    }
    this.disposables.push(
      this.server.onDidChangeLaunch(() => this.update()),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('scms')) this.update();
      }),
    );
    this.update();
  }

  private registerWithEditor(): 'vscode' | 'cursor' | undefined {
    if (typeof this.api.cursor?.mcp?.registerServer === 'function') return 'cursor'; // Cursor's agent reads its own registry
    const register = this.api.lm?.registerMcpServerDefinitionProvider;
    const Definition = this.api.McpStdioServerDefinition;
    if (typeof register !== 'function' || typeof Definition !== 'function') {
      this.unsupported = 'no vscode.lm.registerMcpServerDefinitionProvider';
      return undefined;
    }
    this.disposables.push(register.call(this.api.lm, MCP_PROVIDER_ID, {
      onDidChangeMcpServerDefinitions: this.changed.event,
      provideMcpServerDefinitions: () => {
        const line = this.commandLine();
        if (!line) return [];
        const definition = new Definition(LABEL, line.command, line.args, line.env, this.version);
        definition.cwd = vscode.Uri.file(line.cwd);
        return [definition];
      },
      resolveMcpServerDefinition: (definition) => {
        if (!this.commandLine()) return undefined; // turned off since the editor asked: do not start it
        this.log.info(`MCP: the editor starts the SCMS memory server (${[definition.command, ...definition.args].join(' ')})`);
        return definition;
      },
    }));
    return 'vscode';
  }

  private setting<T>(key: string, fallback: T): T {
    return vscode.workspace.getConfiguration('scms', this.server.launch?.folder).get<T>(key, fallback);
  }

  private enabled(): boolean {
    return this.setting<unknown>('mcp.enabled', true) !== false;
  }

  /** What to offer now: nothing while off, or before a Python that runs scms is found. */
  private commandLine(): { command: string; args: string[]; cwd: string; env: Record<string, string> } | undefined {
    const launch = this.server.launch;
    if (!this.enabled() || !launch) return undefined;
    const line = mcpCommandLine(launch.interpreter.command, launch.folder.fsPath, { lexical: this.setting<unknown>('recall.embeddings', true) === false });
    return { ...line, env: { [SETTINGS_ENV]: JSON.stringify(this.server.settings()) } };
  }

  private update(): void {
    if (!this.channel) {
      if (this.enabled() && !this.explained) {
        this.explained = true;
        this.log.info(`MCP: this editor does not let extensions offer MCP servers (${this.unsupported}); ${BY_HAND}`);
      }
      return;
    }
    const line = this.commandLine();
    const shown = line ? [line.command, ...line.args].join(' ') : '';
    const offer = line ? `${shown}\n${line.env[SETTINGS_ENV]}` : '';
    if (offer === this.offered) return;
    const before = this.offered;
    const sameLine = before.split('\n')[0] === shown;
    this.offered = offer;
    if (this.channel === 'cursor') {
      try {
        if (before) this.api.cursor?.mcp?.unregisterServer?.(CURSOR_NAME);
        if (line) this.api.cursor?.mcp?.registerServer?.({ name: CURSOR_NAME, server: { command: line.command, args: line.args, env: line.env } });
      } catch (error) {
        this.offered = '';
        this.log.warn(`MCP: Cursor did not take the SCMS memory server (${firstSentence(error)}); ${BY_HAND}`);
        return;
      }
    } else {
      this.changed.fire();
    }
    if (line && sameLine) this.log.info(`MCP: offered the SCMS memory server again, with the changed settings`);
    else if (line) this.log.info(`MCP: offered the SCMS memory server to the editor's agents (${shown})`);
    else this.log.info(`MCP: the SCMS memory server is no longer offered (${this.enabled() ? 'no Python that runs scms' : 'scms.mcp.enabled is off'})`);
  }

  dispose(): void {
    if (this.channel === 'cursor' && this.offered) {
      try { this.api.cursor?.mcp?.unregisterServer?.(CURSOR_NAME); } catch { /* the editor is going away */ }
    }
    this.disposables.forEach((d) => d.dispose());
  }
}
