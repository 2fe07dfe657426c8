// Finding a Python that can run the SCMS server, and creating a private one when there is none.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  Interpreter, PROBE_SCRIPT, chooseInterpreter, checkInterpreterSetting, judgeProbe, parseProbe,
  privateEnvironment, privateEnvironmentSteps, ProbeVerdict,
} from './launch';
import { Messages } from './messages';

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

export async function findInterpreter(context: vscode.ExtensionContext, messages: Messages, resource?: vscode.Uri): Promise<Interpreter> {
  const setting = vscode.workspace.getConfiguration('scms', resource).get<unknown>('server.interpreter');
  const checked = checkInterpreterSetting(setting);
  if (checked.problem) messages.warning(`SCMS: ${checked.problem}.`);
  const privateEnv = privateEnvironment(context.globalStorageUri.fsPath).python;
  return chooseInterpreter({
    setting: checked.command,
    pythonExtension: checked.command.length ? undefined : await pythonExtensionInterpreter(resource),
    privateEnvironment: fs.existsSync(privateEnv) ? privateEnv : undefined,
  });
}

export async function probe(interpreter: string[]): Promise<ProbeVerdict> {
  const [command, ...args] = interpreter;
  const result = await run(command, [...args, '-c', PROBE_SCRIPT], 30_000);
  return judgeProbe(interpreter, result.code === 0 ? parseProbe(result.stdout) : undefined);
}

/** Create the private environment with progress; true when it ends with a working server. */
export async function createPrivateEnvironment(context: vscode.ExtensionContext, basePython: string[], log: vscode.LogOutputChannel): Promise<boolean> {
  const wheels = fs.existsSync(path.join(context.extensionPath, 'dist'))
    ? fs.readdirSync(path.join(context.extensionPath, 'dist')).filter((name) => name.endsWith('.whl'))
    : [];
  if (wheels.length === 0) {
    log.error('this build of the extension holds no server wheel (dist/*.whl)');
    return false;
  }
  fs.mkdirSync(context.globalStorageUri.fsPath, { recursive: true });
  const steps = privateEnvironmentSteps(basePython, context.globalStorageUri.fsPath, path.join(context.extensionPath, 'dist', wheels[0]));
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'SCMS: setting up the server', cancellable: false },
    async (progress) => {
      for (const [index, step] of steps.entries()) {
        progress.report({ message: `${step.title} (${index + 1}/${steps.length})`, increment: index === 0 ? 0 : 100 / steps.length });
        log.info(`${step.title}: ${step.command} ${step.args.join(' ')}`);
        const result = await run(step.command, step.args, 30 * 60_000);
        if (result.stdout.trim()) log.info(result.stdout.trim());
        if (result.code !== 0) {
          log.error(`${step.title} failed (exit ${result.code}): ${result.stderr.trim()}`);
          return false;
        }
      }
      const verdict = await probe([privateEnvironment(context.globalStorageUri.fsPath).python]);
      if (!verdict.ok) log.error(verdict.message);
      return verdict.ok;
    },
  );
}
