// Node's test runner over the launch logic: interpreter choice, health and version checks, the private
// environment's steps, command line, options, pop-up rules, and the manifest's contributions.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  Probe, checkInterpreterSetting, compareVersions, judgeProbe, parseProbe, planLaunch,
} from '../src/interpreter';
import {
  MCP_PROVIDER_ID, RESTART_SETTINGS, initializationOptions, mcpCommandLine, serverCommandLine, settingKeys, settingsNeedingRestart,
  shouldPopUp,
} from '../src/launch';
import { outputTail, privateEnvironment, privateEnvironmentSteps } from '../src/privateEnvironment';

const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));

/** A fake health check: what each Python (by its first word) answers, and the order they were asked in. */
function pythons(answers: Record<string, Probe | undefined>) {
  const asked: string[] = [];
  const probe = async (command: string[]) => (asked.push(command[0]), answers[command[0]]);
  return { asked, probe };
}
const healthy = (scms = '0.1.0'): Probe => ({ python: [3, 12], scms });
const noScms: Probe = { python: [3, 12], scms: null };
const base = { privateEnvironment: '/g/venv/bin/python', privateEnvironmentExists: false, version: '0.1.0' };

test('the interpreter setting wins when it has scms', async () => {
  const { asked, probe } = pythons({ '/opt/py': healthy(), '/ext/python': healthy(), '/g/venv/bin/python': healthy() });
  const plan = await planLaunch({ ...base, setting: ['/opt/py', '-X', 'utf8'], pythonExtension: '/ext/python', privateEnvironmentExists: true }, probe);
  assert.deepEqual(plan, { action: 'launch', interpreter: { command: ['/opt/py', '-X', 'utf8'], source: 'setting' } });
  assert.deepEqual(asked, ['/opt/py']);
});

test('without a setting: the Python extension, then a healthy private environment, then python3', async () => {
  const inputs = { ...base, setting: [], pythonExtension: '/ext/python', privateEnvironmentExists: true };
  let { probe } = pythons({ '/ext/python': healthy('0.0.1'), '/g/venv/bin/python': healthy() });
  assert.deepEqual(await planLaunch(inputs, probe), { action: 'launch', interpreter: { command: ['/ext/python'], source: 'python-extension' } });
  // the Python extension's interpreter lacks scms: the private environment made earlier is used, not offered again
  ({ probe } = pythons({ '/ext/python': noScms, '/g/venv/bin/python': healthy(), python3: healthy() }));
  assert.deepEqual(await planLaunch(inputs, probe), { action: 'launch', interpreter: { command: ['/g/venv/bin/python'], source: 'private-environment' } });
  ({ probe } = pythons({ python3: healthy() }));
  assert.deepEqual(await planLaunch({ ...base, setting: undefined }, probe), { action: 'launch', interpreter: { command: ['python3'], source: 'default' } });
});

test('with no Python that has scms, a private environment is offered and launched once it is made', async () => {
  const { asked, probe } = pythons({ '/ext/python': { python: [3, 9], scms: null }, python3: noScms });
  const plan = await planLaunch({ ...base, setting: [], pythonExtension: '/ext/python' }, probe);
  assert.deepEqual(asked, ['/ext/python', 'python3']);
  assert.equal(plan.action, 'create');
  if (plan.action !== 'create') return;
  assert.deepEqual(plan.base, { command: ['python3'], source: 'default' }); // the Python 3.11+ found, not the 3.9 one
  assert.deepEqual(plan.then, { command: ['/g/venv/bin/python'], source: 'private-environment' });
  assert.match(plan.message, /not installed in "python3"/);
});

test('a setting whose Python lacks scms: the healthy private environment stands in, with a warning; else one is offered', async () => {
  const inputs = { ...base, setting: ['/opt/py'], privateEnvironmentExists: true };
  let { probe } = pythons({ '/opt/py': noScms, '/g/venv/bin/python': healthy() });
  const plan = await planLaunch(inputs, probe);
  assert.equal(plan.action === 'launch' && plan.interpreter.source, 'private-environment');
  assert.match(plan.action === 'launch' ? plan.warning ?? '' : '', /clear scms\.server\.interpreter/);
  ({ probe } = pythons({ '/opt/py': noScms }));
  const create = await planLaunch({ ...inputs, privateEnvironmentExists: false }, probe);
  assert.equal(create.action === 'create' && create.base.source, 'setting');
  assert.equal(create.action === 'create' && create.then.command[0], '/g/venv/bin/python');
  ({ probe } = pythons({ '/opt/py': { python: [3, 10], scms: '0.1.0' } }));
  const old = await planLaunch(inputs, probe);
  assert.match(old.action === 'fail' ? old.message : '', /Python 3\.10; SCMS needs Python 3\.11 .*Set scms\.server\.interpreter/);
});

test('a private environment older than the extension is offered an update', async () => {
  const { probe } = pythons({ '/ext/python': noScms, '/g/venv/bin/python': healthy('0.0.9') });
  const plan = await planLaunch({ ...base, setting: [], pythonExtension: '/ext/python', privateEnvironmentExists: true }, probe);
  assert.equal(plan.action, 'update');
  assert.match(plan.action === 'update' ? plan.message : '', /has server 0\.0\.9; this extension is 0\.1\.0/);
  // only the private environment is held to the extension's version
  assert.equal((await planLaunch({ ...base, setting: ['/ext/python'] }, pythons({ '/ext/python': healthy('0.0.9') }).probe)).action, 'launch');
});

test('with no usable Python at all, every one tried is named', async () => {
  const { probe } = pythons({ '/ext/python': { python: [3, 8], scms: null } });
  const plan = await planLaunch({ ...base, setting: [], pythonExtension: '/ext/python' }, probe);
  assert.equal(plan.action, 'fail');
  assert.match(plan.action === 'fail' ? plan.message : '', /is Python 3\.8.*could not run Python as "python3".*scms\.server\.interpreter/);
});

test('versions compare by release, pre-releases before the release', () => {
  assert.equal(compareVersions('0.1.0', '0.1.0'), 0);
  assert.equal(compareVersions('0.1', '0.1.0'), 0);
  assert.equal(compareVersions('0.0.9', '0.1.0'), -1);
  assert.equal(compareVersions('0.10.0', '0.9.0'), 1);
  assert.equal(compareVersions('0.1.0.dev3', '0.1.0'), -1);
  assert.equal(compareVersions('0.1.0rc1', '0.1.0'), -1);
  assert.equal(compareVersions('0.1.0.post1', '0.1.0'), 1);
  assert.equal(compareVersions('0.1.0+local', '0.1.0'), 0);
});

test('a setting of the wrong type is reported and ignored', () => {
  for (const bad of ['/usr/bin/python3', [1, 2], [''], { python: 'x' }, true]) {
    const checked = checkInterpreterSetting(bad);
    assert.deepEqual(checked.command, []);
    assert.match(checked.problem ?? '', /must be a list of strings/);
  }
  assert.equal(checkInterpreterSetting([]).problem, undefined);
});

test('the server command line keeps the interpreter arguments first', () => {
  assert.deepEqual(serverCommandLine(['/py', '-X', 'utf8']), { command: '/py', args: ['-X', 'utf8', '-m', 'scms', 'serve'] });
});

test('the MCP server runs on the same Python, with its arguments first, for the folder and in it; by words only on request', () => {
  assert.deepEqual(mcpCommandLine(['/py', '-X', 'utf8'], '/home/me/project with space'), {
    command: '/py',
    args: ['-X', 'utf8', '-m', 'scms', 'mcp', '--workspace', '/home/me/project with space'],
    cwd: '/home/me/project with space',
  });
  assert.deepEqual(mcpCommandLine(['python3'], '/w').args, ['-m', 'scms', 'mcp', '--workspace', '/w']);
  assert.deepEqual(mcpCommandLine(['python3'], '/w', { lexical: true }).args, ['-m', 'scms', 'mcp', '--workspace', '/w', '--lexical']);
});

test('the manifest contributes the MCP provider the extension registers, and its on/off setting', () => {
  assert.deepEqual(manifest.contributes.mcpServerDefinitionProviders.map((p: { id: string }) => p.id), [MCP_PROVIDER_ID]);
  assert.ok(manifest.contributes.mcpServerDefinitionProviders[0].label);
  assert.equal(manifest.contributes.configuration.properties['scms.mcp.enabled'].default, true);
  assert.match(manifest.engines.vscode, /^\^1\.82\./); // feature-detected, so Cursor's older engine still installs it
});

test('probe verdicts say what to do', () => {
  assert.deepEqual(judgeProbe(['python3'], parseProbe('{"python": [3, 12], "scms": "0.1.0"}\n')), { ok: true, version: '0.1.0' });
  assert.equal(judgeProbe(['/venv/python'], parseProbe('{"python": [3, 12], "scms": "0.0.9"}'), '0.1.0').ok, false);
  assert.equal(judgeProbe(['/venv/python'], parseProbe('{"python": [3, 12], "scms": "0.2.0"}'), '0.1.0').ok, true);
  const old = judgeProbe(['python3'], parseProbe('{"python": [3, 9], "scms": "0.1.0"}'));
  assert.equal(old.ok, false);
  assert.match(!old.ok ? old.message : '', /is Python 3\.9; SCMS needs Python 3\.11 or newer/);
  const missing = judgeProbe(['/usr/bin/python3'], parseProbe('{"python": [3, 11], "scms": null}'));
  assert.equal(!missing.ok && missing.reason, 'missing-scms');
  const broken = judgeProbe(['nope'], parseProbe('Traceback (most recent call last):'));
  assert.equal(!broken.ok && broken.reason, 'not-python');
  assert.equal(parseProbe(''), undefined);
});

test('the private environment lives in global storage, is made afresh, and installs torch before the server', () => {
  assert.deepEqual(privateEnvironment('/g', 'linux'), { dir: '/g/venv', python: '/g/venv/bin/python' });
  assert.equal(privateEnvironment('C:\\g', 'win32').python, 'C:\\g\\venv\\Scripts\\python.exe');
  const steps = privateEnvironmentSteps(['/usr/bin/python3', '-I'], '/g', '/ext/dist/scms.whl', 'linux');
  const lines = steps.map((s) => [s.command, ...s.args].join(' '));
  assert.deepEqual(lines, [
    '/usr/bin/python3 -I -m venv --clear /g/venv',
    '/g/venv/bin/python -m pip install --disable-pip-version-check torch==2.13.0',
    '/g/venv/bin/python -m pip install --disable-pip-version-check /ext/dist/scms.whl',
  ]);
  const update = privateEnvironmentSteps([], '/g', '/ext/dist/scms.whl', 'linux', true);
  assert.deepEqual(update.map((s) => [s.command, ...s.args].join(' ')), lines.slice(1));
});

test('a failed step is summed up by the end of its output', () => {
  const pip = 'Collecting torch==2.13.0\n\nERROR: Could not find a version that satisfies the requirement torch==2.13.0\nERROR: No matching distribution found for torch==2.13.0\n';
  assert.equal(outputTail(pip, 2), 'ERROR: Could not find a version that satisfies the requirement torch==2.13.0 ⏎ ERROR: No matching distribution found for torch==2.13.0');
  assert.equal(outputTail('x'.repeat(1000)).length, 401);
  assert.equal(outputTail(''), '');
});

test('initialization options nest dotted settings and keep client-only ones out', () => {
  const defaults = Object.fromEntries(settingKeys(manifest).map((key) => [key, manifest.contributes.configuration.properties[`scms.${key}`].default]));
  const options = initializationOptions(defaults);
  assert.equal(options.server, undefined);
  assert.equal(options.mcp, undefined);
  assert.deepEqual(options.retention, { decayRateCandidate: 0.95, decayRateValidated: 1, archiveBelow: 0.1 });
  assert.equal(options.promotionThreshold, 2);
  assert.deepEqual(options.export, { targets: ['workspace_rules', 'cursor', 'copilot', 'agents', 'claude'], onChange: false });
});

test('every contributed setting has a description and a scope', () => {
  for (const [key, spec] of Object.entries<Record<string, unknown>>(manifest.contributes.configuration.properties)) {
    assert.ok(spec.description || spec.markdownDescription, `${key} has no description`);
    assert.ok(spec.scope, `${key} has no scope`);
  }
});

test('notifications gate background pop-ups by level; answers to the user are not gated', () => {
  assert.equal(shouldPopUp('off', 'error'), false);
  assert.equal(shouldPopUp('onError', 'error'), true);
  assert.equal(shouldPopUp('onError', 'warning'), false);
  assert.equal(shouldPopUp('onWarning', 'warning'), true);
  assert.equal(shouldPopUp('always', 'info'), true);
  assert.equal(shouldPopUp(undefined, 'warning'), true);
  assert.equal(shouldPopUp('off', 'warning', 'user'), true);
  assert.equal(shouldPopUp('off', 'error', 'user'), true);
  assert.equal(shouldPopUp('onWarning', 'info', 'user'), false); // information goes to the status bar instead
});

test('the settings read only at start are the ones whose description says so, and a change to one is found', () => {
  const properties: Record<string, { description?: string; markdownDescription?: string }> = manifest.contributes.configuration.properties;
  const restartOnly = Object.keys(properties).filter((key) => /when the server restarts/.test(properties[key].description ?? properties[key].markdownDescription ?? ''));
  for (const key of restartOnly) assert.ok(settingsNeedingRestart((section) => key.startsWith(section)).length, `${key} is not in RESTART_SETTINGS`);
  for (const key of RESTART_SETTINGS) assert.ok(Object.keys(properties).some((k) => k.startsWith(`scms.${key}`)), `${key} is no setting`);
  assert.deepEqual(settingsNeedingRestart((section) => 'scms.learning.topSlots'.startsWith(section)), ['learning']);
  assert.deepEqual(settingsNeedingRestart((section) => 'scms.recall.minSimilarity'.startsWith(section)), []);
});

test('the manifest: no untrusted workspaces, a welcome for each empty memory view, the walkthrough completes on accept', () => {
  assert.equal(manifest.capabilities.untrustedWorkspaces.supported, false);
  const whens = manifest.contributes.viewsWelcome.map((w: { when?: string }) => w.when);
  assert.deepEqual(whens, ['noFolder', 'starting', 'notRunning', 'listFailed', 'empty'].map((state) => `scms.memoryView == ${state}`));
  const steps = manifest.contributes.walkthroughs[0].steps;
  assert.ok(steps.find((s: { id: string }) => s.id === 'accept').completionEvents.includes('onCommand:scms.accept'));
});

test('palette commands do not reuse the ids the language client registers for the server', () => {
  const contributed: string[] = manifest.contributes.commands.map((c: { command: string }) => c.command);
  const serverCommands = ['scms.remember', 'scms.accept', 'scms.reject', 'scms.promote', 'scms.promoteEligible',
    'scms.demote', 'scms.forget', 'scms.restore', 'scms.reanchor', 'scms.update', 'scms.list', 'scms.recall', 'scms.export', 'scms.import',
    'scms.closeSession', 'scms.status', 'scms.saveShape', 'scms.dismissShape'];
  assert.deepEqual(contributed.filter((id) => serverCommands.includes(id)), []);
});
