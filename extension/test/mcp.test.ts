// Node's test runner over the MCP offer (extension/src/mcp.ts) with fake editor APIs: VS Code's provider, Cursor's
// registry, an editor with neither, and the setting that turns the offer off and on.
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import type * as vscode from 'vscode';
import { MCP_PROVIDER_ID, initializationOptions } from '../src/launch';
import { McpOffer } from '../src/mcp';
import type { Server } from '../src/server';
import { EventEmitter, Uri, changeSettings, settings } from './fakes/vscode';

const never = {} as vscode.CancellationToken;

function fakeServer() {
  const changed = new EventEmitter<void>();
  const server = {
    launch: undefined as { interpreter: { command: string[]; source: string }; folder: Uri } | undefined,
    onDidChangeLaunch: changed.event,
    settings: () => initializationOptions({ ...settings }), // as Server.settings() makes them from the manifest's keys
    resolve(command: string[], folder = '/w') {
      server.launch = { interpreter: { command, source: 'setting' }, folder: Uri.file(folder) };
      changed.fire();
    },
  };
  return server;
}

function fakeLog() {
  const lines: string[] = [];
  return { lines, log: { info: (line: string) => lines.push(`info ${line}`), warn: (line: string) => lines.push(`warn ${line}`) } };
}

class Definition {
  cwd?: Uri;
  constructor(readonly label: string, readonly command: string, readonly args: string[], readonly env: Record<string, string>, readonly version?: string) {}
}

interface Provider {
  onDidChangeMcpServerDefinitions: (listener: () => void) => unknown;
  provideMcpServerDefinitions(token: unknown): Definition[];
  resolveMcpServerDefinition(definition: Definition, token: unknown): Definition | undefined;
}

beforeEach(() => {
  for (const key of Object.keys(settings)) delete settings[key];
});

test('VS Code: one provider under the manifest id; its definition follows the interpreter and the setting', () => {
  const registered: { id: string; provider: Provider }[] = [];
  const api = { lm: { registerMcpServerDefinitionProvider: (id: string, provider: Provider) => (registered.push({ id, provider }), { dispose() {} }) },
    McpStdioServerDefinition: Definition };
  const server = fakeServer();
  const { lines, log } = fakeLog();
  const offer = new McpOffer(server as unknown as Server, log as unknown as vscode.LogOutputChannel, '0.1.0', api as never);
  offer.register();
  assert.deepEqual(registered.map((r) => r.id), [MCP_PROVIDER_ID]);
  const { provider } = registered[0];
  let changes = 0;
  provider.onDidChangeMcpServerDefinitions(() => changes++);
  assert.deepEqual(provider.provideMcpServerDefinitions(never), []); // no Python yet
  assert.deepEqual(lines, []);

  server.resolve(['/venv/bin/python', '-X', 'utf8'], '/home/me/project');
  assert.equal(changes, 1);
  const [definition] = provider.provideMcpServerDefinitions(never);
  assert.equal(definition.label, 'SCMS Pattern Memory');
  assert.equal(definition.command, '/venv/bin/python');
  assert.deepEqual(definition.args, ['-X', 'utf8', '-m', 'scms', 'mcp', '--workspace', '/home/me/project']);
  assert.equal(definition.cwd?.fsPath, '/home/me/project');
  assert.equal(definition.version, '0.1.0');
  assert.deepEqual(definition.env, { SCMS_SETTINGS: '{}' });
  assert.deepEqual(lines, ["info MCP: offered the SCMS memory server to the editor's agents (/venv/bin/python -X utf8 -m scms mcp --workspace /home/me/project)"]);
  assert.equal(provider.resolveMcpServerDefinition(definition, never), definition);

  changeSettings({ 'recall.embeddings': false });
  assert.equal(changes, 2);
  assert.equal(provider.provideMcpServerDefinitions(never)[0].args.at(-1), '--lexical');

  changeSettings({ 'promotionThreshold': 3, 'retention.archiveBelow': 0.2 }); // the server's settings: offered again
  assert.equal(changes, 3);
  assert.deepEqual(JSON.parse(String(provider.provideMcpServerDefinitions(never)[0].env.SCMS_SETTINGS)),
    { promotionThreshold: 3, recall: { embeddings: false }, retention: { archiveBelow: 0.2 } });
  assert.equal(lines.at(-1), 'info MCP: offered the SCMS memory server again, with the changed settings');

  changeSettings({ 'mcp.enabled': false });
  assert.equal(changes, 4);
  assert.deepEqual(provider.provideMcpServerDefinitions(never), []);
  assert.equal(provider.resolveMcpServerDefinition(definition, never), undefined); // asked before it was turned off
  assert.match(lines.at(-1) ?? '', /no longer offered \(scms\.mcp\.enabled is off\)/);
  changeSettings({ 'promotionThreshold': 4 }); // nothing offered: nothing to tell the editor
  assert.equal(changes, 4);
  changeSettings({ 'mcp.enabled': true });
  assert.equal(changes, 5);
  assert.equal(provider.provideMcpServerDefinitions(never).length, 1);
  offer.dispose();
});

test("Cursor: its registry gets the server (not VS Code's too), again after a change, and loses it when turned off", () => {
  const calls: string[] = [];
  const api = {
    cursor: { mcp: {
      registerServer: (config: { name: string; server: { command: string; args: string[]; env: object } }) =>
        calls.push(`register ${config.name}: ${config.server.command} ${config.server.args.join(' ')} ${JSON.stringify(config.server.env)}`),
      unregisterServer: (name: string) => calls.push(`unregister ${name}`),
    } },
    lm: { registerMcpServerDefinitionProvider: () => { calls.push('vscode provider'); return { dispose() {} }; } },
    McpStdioServerDefinition: Definition,
  };
  const server = fakeServer();
  const offer = new McpOffer(server as unknown as Server, fakeLog().log as unknown as vscode.LogOutputChannel, '0.1.0', api as never);
  offer.register();
  assert.deepEqual(calls, []);
  server.resolve(['python3'], '/w');
  assert.deepEqual(calls, ['register scms: python3 -m scms mcp --workspace /w {"SCMS_SETTINGS":"{}"}']);
  server.resolve(['/opt/py'], '/w');
  assert.deepEqual(calls.slice(1), ['unregister scms', 'register scms: /opt/py -m scms mcp --workspace /w {"SCMS_SETTINGS":"{}"}']);
  changeSettings({ 'promotionThreshold': 5 });
  assert.deepEqual(calls.slice(3), ['unregister scms',
    'register scms: /opt/py -m scms mcp --workspace /w {"SCMS_SETTINGS":"{\\"promotionThreshold\\":5}"}']);
  changeSettings({ 'mcp.enabled': false });
  assert.deepEqual(calls.slice(5), ['unregister scms']);
  offer.dispose(); // nothing registered: nothing to unregister
  assert.equal(calls.length, 6);
});

test('an editor without the API, or whose API refuses: one line pointing to docs/mcp.md, once, and no throw', () => {
  for (const [api, reason] of [
    [{}, 'no vscode.lm.registerMcpServerDefinitionProvider'],
    [{ lm: { registerMcpServerDefinitionProvider: () => { throw new Error("Extension 'scms.scms' CANNOT use API proposal: mcpConfigurationProvider. Its package.json…"); } },
      McpStdioServerDefinition: Definition }, "Extension 'scms.scms' CANNOT use API proposal: mcpConfigurationProvider"],
  ] as const) {
    const server = fakeServer();
    const { lines, log } = fakeLog();
    const offer = new McpOffer(server as unknown as Server, log as unknown as vscode.LogOutputChannel, '0.1.0', api as never);
    assert.doesNotThrow(() => offer.register());
    server.resolve(['python3']);
    changeSettings({ 'mcp.enabled': true });
    assert.equal(lines.length, 1);
    assert.ok(lines[0].startsWith('info MCP: this editor does not let extensions offer MCP servers ('), lines[0]);
    assert.ok(lines[0].includes(reason), lines[0]);
    assert.ok(lines[0].endsWith('; see docs/mcp.md to configure it by hand'), lines[0]);
    offer.dispose();
  }
});
