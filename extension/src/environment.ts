// Finding a Python that can run the SCMS server, and creating or updating a private one when there is none.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Interpreter, PROBE_SCRIPT, Plan, Probe, checkInterpreterSetting, judgeProbe, parseProbe, planLaunch } from './interpreter';
import { Messages } from './messages';
import { outputTail, privateEnvironment, privateEnvironmentSteps } from './privateEnvironment';

function run(command: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (error && !stdout ? error.message : '')) });
    });
  });
}

async function pythonExtensionInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  const python = vscode.extensions.getExtension('ms-python.python');
  if (!python) return undefined;
  try {
    const api = python.isActive ? python.exports : await python.activate();
    const envPath = api?.environments?.getActiveEnvironmentPath?.(resource);
    const resolved = envPath ? await api.environments.resolveEnvironment(envPath) : undefined;
    return resolved?.executable?.uri?.fsPath;
  } catch {
    return undefined; // the Python extension is optional: never let it stop SCMS
  }
}

async function probe(interpreter: string[]): Promise<Probe | undefined> {
  const [command, ...args] = interpreter;
  const result = await run(command, [...args, '-c', PROBE_SCRIPT], 30_000);
  return result.code === 0 ? parseProbe(result.stdout) : undefined;
}

const openSettings = (choice?: string) => {
  if (choice === 'Open Settings' || choice === 'Choose Interpreter') {
    void vscode.commands.executeCommand('workbench.action.openSettings', 'scms.server.interpreter');
  }
};

async function plan(context: vscode.ExtensionContext, messages: Messages, resource?: vscode.Uri): Promise<Plan> {
  const setting = vscode.workspace.getConfiguration('scms', resource).get<unknown>('server.interpreter');
  const checked = checkInterpreterSetting(setting);
  if (checked.problem) void messages.replyWarning(`SCMS: ${checked.problem}.`, 'Open Settings').then(openSettings);
  const privateEnv = privateEnvironment(context.globalStorageUri.fsPath).python;
  return planLaunch({
    setting: checked.command,
    pythonExtension: checked.command.length ? undefined : await pythonExtensionInterpreter(resource),
    privateEnvironment: privateEnv,
    privateEnvironmentExists: fs.existsSync(privateEnv),
    version: String(context.extension.packageJSON.version),
  }, probe);
}

/** The Python that runs the server, after asking to create or update the private environment; undefined: none. */
export async function prepareInterpreter(context: vscode.ExtensionContext, messages: Messages, log: vscode.LogOutputChannel,
  resource?: vscode.Uri): Promise<Interpreter | undefined> {
  const next = await plan(context, messages, resource);
  switch (next.action) {
    case 'launch':
      if (next.warning) void messages.warning(`SCMS: ${next.warning}`, 'Open Settings').then(openSettings);
      return next.interpreter;
    case 'fail':
      void messages.error(`SCMS: ${next.message}`, 'Open Settings').then(openSettings);
      return undefined;
    case 'update': {
      const choice = await messages.ask(`SCMS: ${next.message} Update it (this may download dependencies)?`, 'Update', 'Not Now');
      if (choice === 'Update' && (await setUp(context, next.interpreter.command, messages, log, true))) return next.interpreter;
      log.warn('running the private environment as it is');
      return judgeProbe(next.interpreter.command, await probe(next.interpreter.command)).ok ? next.interpreter : undefined;
    }
    case 'create': {
      const choice = await messages.ask(`SCMS: ${next.message} Create a private environment for it (this downloads its dependencies)?`,
        'Create Environment', 'Choose Interpreter');
      openSettings(choice);
      if (choice !== 'Create Environment') return undefined;
      return (await setUp(context, next.base.command, messages, log, false)) ? next.then : undefined;
    }
  }
}

/** Create (or update) the private environment with progress; a failure names its step and the end of its output. */
async function setUp(context: vscode.ExtensionContext, basePython: string[], messages: Messages, log: vscode.LogOutputChannel,
  update: boolean): Promise<boolean> {
  const failure = await runSteps(context, basePython, log, update);
  if (!failure) {
    messages.info(`SCMS: ${update ? 'updated' : 'created'} the private environment; the server runs in it.`);
    return true;
  }
  void messages.replyError(`SCMS: ${update ? 'updating' : 'setting up'} the server failed at "${failure.step}": ${failure.detail} `
    + 'To use a Python that already has scms, set scms.server.interpreter.', 'Open Settings').then(openSettings);
  return false;
}

async function runSteps(context: vscode.ExtensionContext, basePython: string[], log: vscode.LogOutputChannel,
  update: boolean): Promise<{ step: string; detail: string } | undefined> {
  const dist = path.join(context.extensionPath, 'dist');
  const wheels = fs.existsSync(dist) ? fs.readdirSync(dist).filter((name) => name.endsWith('.whl')) : [];
  const wheel = wheels.find((name) => name.startsWith(`scms-${context.extension.packageJSON.version}-`)) ?? wheels[0];
  if (!wheel) return { step: 'Finding the server wheel', detail: 'this build of the extension holds no server wheel (dist/*.whl).' };
  const storage = context.globalStorageUri.fsPath;
  fs.mkdirSync(storage, { recursive: true });
  const steps = privateEnvironmentSteps(basePython, storage, path.join(dist, wheel), undefined, update);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `SCMS: ${update ? 'updating' : 'setting up'} the server`, cancellable: false },
    async (progress) => {
      for (const [index, step] of steps.entries()) {
        progress.report({ message: `${step.title} (${index + 1}/${steps.length})`, increment: index === 0 ? 0 : 100 / steps.length });
        log.info(`${step.title}: ${step.command} ${step.args.join(' ')}`);
        const result = await run(step.command, step.args, 30 * 60_000);
        if (result.stdout.trim()) log.info(result.stdout.trim());
        if (result.code !== 0) {
          log.error(`${step.title} failed (exit ${result.code}): ${result.stderr.trim()}`);
          return { step: step.title, detail: `exit ${result.code}: ${outputTail(result.stderr || result.stdout) || 'no output'}.` };
        }
      }
      const python = privateEnvironment(storage).python;
      const verdict = judgeProbe([python], await probe([python]), String(context.extension.packageJSON.version));
      return verdict.ok ? undefined : { step: 'Checking the server', detail: verdict.message };
    },
  );
}
