// Launch logic without the `vscode` module, so Node's test runner can test it: the server's and the MCP
// server's command lines, the initialization options built from the settings, which setting changes need a restart, and which
// messages pop up.

export function serverCommandLine(interpreter: string[], extraArgs: string[] = []): { command: string; args: string[] } {
  const [command, ...rest] = interpreter;
  return { command, args: [...rest, '-m', 'scms', 'serve', ...extraArgs] };
}

/**
 * The MCP server over the same memory (`scms mcp`, stdio), for the editor's agents: the same Python, this folder, and
 * recall by words only (`--lexical`) when `scms.recall.embeddings` is off.
 */
export function mcpCommandLine(interpreter: string[], folder: string, { lexical = false } = {}): { command: string; args: string[]; cwd: string } {
  const [command, ...rest] = interpreter;
  return { command, args: [...rest, '-m', 'scms', 'mcp', '--workspace', folder, ...(lexical ? ['--lexical'] : [])], cwd: folder };
}

/** The id of the MCP server definition provider: `contributes.mcpServerDefinitionProviders` must name it. */
export const MCP_PROVIDER_ID = 'scms.memory';

/** Settings only the extension reads, never sent to the language server. */
const CLIENT_ONLY = ['server.', 'mcp.'];

/**
 * The server's initialization options from the flat settings (`promotionThreshold`,
 * `retention.archiveBelow`, …): dotted keys become nested objects; client-only keys (`server.*`, `mcp.*`) stay here.
 */
export function initializationOptions(flat: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    if (CLIENT_ONLY.some((prefix) => key.startsWith(prefix)) || value === undefined) continue;
    const parts = key.split('.');
    let target = options;
    for (const part of parts.slice(0, -1)) {
      if (typeof target[part] !== 'object' || target[part] === null) target[part] = {};
      target = target[part] as Record<string, unknown>;
    }
    target[parts[parts.length - 1]] = value;
  }
  return options;
}

/** The setting keys (without `scms.`) that the manifest contributes. */
export function settingKeys(packageJson: { contributes?: { configuration?: { properties?: Record<string, unknown> } } }): string[] {
  return Object.keys(packageJson.contributes?.configuration?.properties ?? {})
    .filter((key) => key.startsWith('scms.'))
    .map((key) => key.slice('scms.'.length));
}

/** Settings the server reads only when it starts (prefixes: `learning` covers every `learning.*` key). */
export const RESTART_SETTINGS = ['recall.embeddings', 'recall.embeddingModelPath', 'recall.torchThreads', 'learning'];

/** The restart-only settings among those a change affects (`affects` is the event's affectsConfiguration). */
export function settingsNeedingRestart(affects: (section: string) => boolean): string[] {
  return RESTART_SETTINGS.filter((key) => affects(`scms.${key}`));
}

export type Notifications = 'off' | 'onError' | 'onWarning' | 'always';

/**
 * Whether a message pops up under the `scms.notifications` setting. Background messages follow the setting;
 * warnings and errors that answer something the user just did (a command, a click, a setting) always pop up,
 * and information never needs to (it goes to the status bar instead).
 */
export function shouldPopUp(setting: unknown, level: 'error' | 'warning' | 'info', origin: 'background' | 'user' = 'background'): boolean {
  if (origin === 'user' && level !== 'info') return true;
  const wanted = ({ off: 0, onError: 1, onWarning: 2, always: 3 } as Record<string, number>)[String(setting)] ?? 2;
  const needed = { error: 1, warning: 2, info: 3 }[level];
  return wanted >= needed;
}
