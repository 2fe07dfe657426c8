// The private environment without the `vscode` module (Node's test runner tests it): where it lives in the
// extension's global storage, and the steps that create or update it.

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

/**
 * Create the private environment (afresh: --clear) and install the server into it, torch first, pinned (its CPU
 * build); to update it, only the installs. basePython is unused for an update.
 */
export function privateEnvironmentSteps(basePython: string[], storageDir: string, wheel: string, platform?: string, update = false): Step[] {
  const env = privateEnvironment(storageDir, platform);
  const [python, ...pythonArgs] = basePython;
  const pip = ['-m', 'pip', 'install', '--disable-pip-version-check'];
  return [
    ...(update ? [] : [{ title: 'Creating the environment', command: python, args: [...pythonArgs, '-m', 'venv', '--clear', env.dir] }]),
    { title: 'Installing torch 2.13.0', command: env.python, args: [...pip, 'torch==2.13.0'] },
    { title: 'Installing the SCMS server', command: env.python, args: [...pip, wheel] },
  ];
}

/** The last lines of a failed step's output, short enough for a notification. */
export function outputTail(text: string, lines = 3, chars = 400): string {
  const tail = text.trim().split(/\r?\n/).filter((line) => line.trim()).slice(-lines).join(' ⏎ ');
  return tail.length > chars ? `…${tail.slice(-chars)}` : tail;
}
