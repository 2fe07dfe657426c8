// Which Python runs the server, without the `vscode` module so Node's test runner can test it: the
// interpreter setting, the health check, the version check and the private environment's steps.

export type InterpreterSource = 'setting' | 'python-extension' | 'private-environment' | 'default';

export interface Interpreter {
  command: string[];
  source: InterpreterSource;
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

/** -1, 0 or 1 as version a is older than, equal to or newer than b (release numbers; .devN/aN/bN/rcN before the release). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const match = /^v?(\d+(?:\.\d+)*)(.*)$/.exec(v.trim().split('+')[0]) ?? [v, '0', v];
    const suffix = match[2].replace(/^[.-]/, '');
    return { release: match[1].split('.').map(Number), rank: suffix === '' ? 0 : suffix.startsWith('post') ? 1 : -1 };
  };
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < Math.max(x.release.length, y.release.length); i++) {
    const diff = (x.release[i] ?? 0) - (y.release[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return Math.sign(x.rank - y.rank);
}

export type ProbeVerdict =
  | { ok: true; version: string }
  | { ok: false; reason: 'not-python' | 'too-old' | 'missing-scms' | 'outdated'; message: string };

/** The health check: a Python 3.11+ that imports scms (and, when `wanted` is given, not an older one). */
export function judgeProbe(interpreter: string[], probe: Probe | undefined, wanted?: string): ProbeVerdict {
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
  if (wanted && compareVersions(probe.scms, wanted) < 0) {
    return { ok: false, reason: 'outdated', message: `SCMS's private environment has server ${probe.scms}; this extension is ${wanted}.` };
  }
  return { ok: true, version: probe.scms };
}

/** What to do before the server can start. */
export type Plan =
  | { action: 'launch'; interpreter: Interpreter; warning?: string }
  | { action: 'create'; base: Interpreter; then: Interpreter; message: string } // offer to create the private environment from base
  | { action: 'update'; interpreter: Interpreter; message: string } // offer to update the private environment; declined: launch it as is
  | { action: 'fail'; message: string };

export interface PlanInputs {
  setting: unknown; // the raw `scms.server.interpreter` value
  pythonExtension?: string; // the Python extension's active interpreter, when that extension is there
  privateEnvironment: string; // the private environment's python
  privateEnvironmentExists: boolean;
  version: string; // the extension's version: the private environment's server must not be older
}

/**
 * The interpreter setting when it is set (a private environment that passes the health check stands in, with a
 * warning, when the setting's Python lacks scms); else the first of the Python extension's interpreter, the private
 * environment and python3 that passes the health check. An outdated private environment is offered an update;
 * with none that passes, a private environment is offered, made from the first Python 3.11+ found.
 */
export async function planLaunch(inputs: PlanInputs, probe: (command: string[]) => Promise<Probe | undefined>): Promise<Plan> {
  const privateEnv: Interpreter = { command: [inputs.privateEnvironment], source: 'private-environment' };
  const judge = async (interpreter: Interpreter) =>
    judgeProbe(interpreter.command, await probe(interpreter.command), interpreter.source === 'private-environment' ? inputs.version : undefined);
  const setting = checkInterpreterSetting(inputs.setting).command;
  if (setting.length > 0) {
    const interpreter: Interpreter = { command: setting, source: 'setting' };
    const verdict = await judge(interpreter);
    if (verdict.ok) return { action: 'launch', interpreter };
    if (verdict.reason !== 'missing-scms') return { action: 'fail', message: `${verdict.message} Set scms.server.interpreter to a Python ${MINIMUM_PYTHON.join('.')}+.` };
    const own = inputs.privateEnvironmentExists ? await judge(privateEnv) : undefined;
    if (own?.ok) {
      return {
        action: 'launch', interpreter: privateEnv,
        warning: `${verdict.message} SCMS runs in its private environment instead; install scms there or clear scms.server.interpreter.`,
      };
    }
    if (own?.reason === 'outdated') return { action: 'update', interpreter: privateEnv, message: `${verdict.message} ${own.message}` };
    return { action: 'create', base: interpreter, then: privateEnv, message: verdict.message };
  }
  const candidates: Interpreter[] = [
    ...(inputs.pythonExtension ? [{ command: [inputs.pythonExtension], source: 'python-extension' as const }] : []),
    ...(inputs.privateEnvironmentExists ? [privateEnv] : []),
    { command: ['python3'], source: 'default' },
  ];
  const failures: { interpreter: Interpreter; message: string; reason: string }[] = [];
  for (const interpreter of candidates) {
    const verdict = await judge(interpreter);
    if (verdict.ok) return { action: 'launch', interpreter };
    if (verdict.reason === 'outdated') return { action: 'update', interpreter, message: verdict.message };
    failures.push({ interpreter, ...verdict });
  }
  const base = failures.find((f) => f.reason === 'missing-scms' && f.interpreter.source !== 'private-environment');
  if (base) return { action: 'create', base: base.interpreter, then: privateEnv, message: base.message };
  return {
    action: 'fail',
    message: `${failures.map((f) => f.message).join(' ')} Install Python ${MINIMUM_PYTHON.join('.')}+ or set scms.server.interpreter to one.`,
  };
}
