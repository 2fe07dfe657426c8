// Launch logic without the `vscode` module, so Node's test runner can test it: which Python runs the
// server, with which command line, and the initialization options built from the settings.

export type InterpreterSource = 'setting' | 'python-extension' | 'private-environment' | 'default';

export interface Interpreter {
  command: string[];
  source: InterpreterSource;
}

export interface InterpreterCandidates {
  setting: unknown; // the raw `scms.server.interpreter` value
  pythonExtension?: string; // the Python extension's active interpreter, when that extension is there
  privateEnvironment?: string; // the private environment's python, when it exists
  fallback?: string;
}

/** A valid interpreter setting is a non-empty array of non-empty strings; anything else is reported. */
export function checkInterpreterSetting(value: unknown): { command: string[]; problem?: string } {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
    return { command: [] };
  }
  if (!Array.isArray(value) || !value.every((part) => typeof part === 'string' && part.trim() !== '')) {
    return {
      command: [],
      problem:
        'scms.server.interpreter must be a list of strings, such as ["/usr/bin/python3"] or ' +
        '["/path/python", "-X", "utf8"]; it is ignored',
    };
  }
  return { command: value as string[] };
}

export function chooseInterpreter(candidates: InterpreterCandidates): Interpreter {
  const fromSetting = checkInterpreterSetting(candidates.setting).command;
  if (fromSetting.length > 0) return { command: fromSetting, source: 'setting' };
  if (candidates.pythonExtension) return { command: [candidates.pythonExtension], source: 'python-extension' };
  if (candidates.privateEnvironment) return { command: [candidates.privateEnvironment], source: 'private-environment' };
  return { command: [candidates.fallback ?? 'python3'], source: 'default' };
}

export function serverCommandLine(interpreter: string[], extraArgs: string[] = []): { command: string; args: string[] } {
  const [command, ...rest] = interpreter;
  return { command, args: [...rest, '-m', 'scms', 'serve', ...extraArgs] };
}

/** Printed as one JSON line by the interpreter: its version and whether (which) scms it can import. */
export const PROBE_SCRIPT = [
  'import json, sys',
  'try:',
  '    import scms',
  '    version = scms.__version__',
  'except Exception:',
  '    version = None',
  'print(json.dumps({"python": list(sys.version_info[:2]), "scms": version}))',
].join('\n');

export interface Probe {
  python: [number, number];
  scms: string | null;
}

export const MINIMUM_PYTHON: [number, number] = [3, 11];

export function parseProbe(stdout: string): Probe | undefined {
  try {
    const data = JSON.parse(stdout.trim().split('\n').pop() ?? '');
    if (Array.isArray(data.python) && data.python.length === 2) return data as Probe;
  } catch {
    // not our JSON: not a Python that ran the probe
  }
  return undefined;
}

export type ProbeVerdict = { ok: true } | { ok: false; reason: 'not-python' | 'too-old' | 'missing-scms'; message: string };

export function judgeProbe(interpreter: string[], probe: Probe | undefined): ProbeVerdict {
  const shown = interpreter.join(' ');
  if (!probe) {
    return { ok: false, reason: 'not-python', message: `SCMS could not run Python as "${shown}".` };
  }
  const [major, minor] = probe.python;
  if (major < MINIMUM_PYTHON[0] || (major === MINIMUM_PYTHON[0] && minor < MINIMUM_PYTHON[1])) {
    return {
      ok: false,
      reason: 'too-old',
      message: `"${shown}" is Python ${major}.${minor}; SCMS needs Python ${MINIMUM_PYTHON.join('.')} or newer.`,
    };
  }
  if (!probe.scms) {
    return { ok: false, reason: 'missing-scms', message: `The SCMS server is not installed in "${shown}".` };
  }
  return { ok: true };
}

/** Where the private environment lives inside the extension's global storage. */
export function privateEnvironment(storageDir: string, platform: string = process.platform): { dir: string; python: string } {
  const sep = platform === 'win32' ? '\\' : '/';
  const dir = `${storageDir}${sep}venv`;
  const python = platform === 'win32' ? `${dir}\\Scripts\\python.exe` : `${dir}/bin/python`;
  return { dir, python };
}

export interface Step {
  title: string;
  command: string;
  args: string[];
}

/** Create the private environment and install the server into it: torch first, pinned (its CPU build). */
export function privateEnvironmentSteps(basePython: string[], storageDir: string, wheel: string, platform?: string): Step[] {
  const env = privateEnvironment(storageDir, platform);
  const [python, ...pythonArgs] = basePython;
  return [
    { title: 'Creating the environment', command: python, args: [...pythonArgs, '-m', 'venv', env.dir] },
    { title: 'Installing torch 2.13.0', command: env.python, args: ['-m', 'pip', 'install', '--disable-pip-version-check', 'torch==2.13.0'] },
    { title: 'Installing the SCMS server', command: env.python, args: ['-m', 'pip', 'install', '--disable-pip-version-check', wheel] },
  ];
}

/**
 * The server's initialization options from the flat settings (`promotionThreshold`,
 * `retention.archiveBelow`, …): dotted keys become nested objects; client-only keys (`server.*`) stay here.
 */
export function initializationOptions(flat: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    if (key.startsWith('server.') || value === undefined) continue;
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

export type Notifications = 'off' | 'onError' | 'onWarning' | 'always';

/** Whether a message of this level pops up under the `scms.notifications` setting. */
export function shouldPopUp(setting: unknown, level: 'error' | 'warning' | 'info'): boolean {
  const wanted = ({ off: 0, onError: 1, onWarning: 2, always: 3 } as Record<string, number>)[String(setting)] ?? 2;
  const needed = { error: 1, warning: 2, info: 3 }[level];
  return wanted >= needed;
}
