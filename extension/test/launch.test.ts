// Node's test runner over the launch logic: interpreter choice, command line, probe verdicts, options.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  checkInterpreterSetting, chooseInterpreter, initializationOptions, judgeProbe, parseProbe, privateEnvironment,
  privateEnvironmentSteps, serverCommandLine, settingKeys, shouldPopUp,
} from '../src/launch';

const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));

test('the interpreter setting wins, then the Python extension, then the private environment, then python3', () => {
  const all = { setting: ['/opt/py/bin/python', '-X', 'utf8'], pythonExtension: '/ext/python', privateEnvironment: '/venv/python' };
  assert.deepEqual(chooseInterpreter(all), { command: ['/opt/py/bin/python', '-X', 'utf8'], source: 'setting' });
  assert.deepEqual(chooseInterpreter({ ...all, setting: [] }), { command: ['/ext/python'], source: 'python-extension' });
  assert.deepEqual(chooseInterpreter({ setting: [], privateEnvironment: '/venv/python' }), { command: ['/venv/python'], source: 'private-environment' });
  assert.deepEqual(chooseInterpreter({ setting: undefined }), { command: ['python3'], source: 'default' });
});

test('a setting of the wrong type is reported and ignored', () => {
  for (const bad of ['/usr/bin/python3', [1, 2], [''], { python: 'x' }, true]) {
    const checked = checkInterpreterSetting(bad);
    assert.deepEqual(checked.command, []);
    assert.match(checked.problem ?? '', /must be a list of strings/);
    assert.equal(chooseInterpreter({ setting: bad }).source, 'default');
  }
  assert.equal(checkInterpreterSetting([]).problem, undefined);
});

test('the server command line keeps the interpreter arguments first', () => {
  assert.deepEqual(serverCommandLine(['/py', '-X', 'utf8']), { command: '/py', args: ['-X', 'utf8', '-m', 'scms', 'serve'] });
});

test('probe verdicts say what to do', () => {
  assert.deepEqual(judgeProbe(['python3'], parseProbe('{"python": [3, 12], "scms": "0.1.0"}\n')), { ok: true });
  const old = judgeProbe(['python3'], parseProbe('{"python": [3, 9], "scms": "0.1.0"}'));
  assert.equal(old.ok, false);
  assert.match(!old.ok ? old.message : '', /is Python 3\.9; SCMS needs Python 3\.11 or newer/);
  const missing = judgeProbe(['/usr/bin/python3'], parseProbe('{"python": [3, 11], "scms": null}'));
  assert.equal(!missing.ok && missing.reason, 'missing-scms');
  const broken = judgeProbe(['nope'], parseProbe('Traceback (most recent call last):'));
  assert.equal(!broken.ok && broken.reason, 'not-python');
  assert.equal(parseProbe(''), undefined);
});

test('the private environment lives in global storage and installs torch before the server', () => {
  assert.deepEqual(privateEnvironment('/g', 'linux'), { dir: '/g/venv', python: '/g/venv/bin/python' });
  assert.equal(privateEnvironment('C:\\g', 'win32').python, 'C:\\g\\venv\\Scripts\\python.exe');
  const steps = privateEnvironmentSteps(['/usr/bin/python3', '-I'], '/g', '/ext/dist/scms.whl', 'linux');
  assert.deepEqual(steps.map((s) => [s.command, ...s.args].join(' ')), [
    '/usr/bin/python3 -I -m venv /g/venv',
    '/g/venv/bin/python -m pip install --disable-pip-version-check torch==2.13.0',
    '/g/venv/bin/python -m pip install --disable-pip-version-check /ext/dist/scms.whl',
  ]);
});

test('initialization options nest dotted settings and keep client-only ones out', () => {
  const defaults = Object.fromEntries(settingKeys(manifest).map((key) => [key, manifest.contributes.configuration.properties[`scms.${key}`].default]));
  const options = initializationOptions(defaults);
  assert.equal(options.server, undefined);
  assert.deepEqual(options.retention, { decayRateCandidate: 0.95, decayRateValidated: 1, archiveBelow: 0.1 });
  assert.equal(options.promotionThreshold, 2);
  assert.deepEqual(options.export, { targets: ['agents'] });
});

test('every contributed setting has a description and a scope', () => {
  for (const [key, spec] of Object.entries<Record<string, unknown>>(manifest.contributes.configuration.properties)) {
    assert.ok(spec.description || spec.markdownDescription, `${key} has no description`);
    assert.ok(spec.scope, `${key} has no scope`);
  }
});

test('notifications gate pop-ups by level', () => {
  assert.equal(shouldPopUp('off', 'error'), false);
  assert.equal(shouldPopUp('onError', 'error'), true);
  assert.equal(shouldPopUp('onError', 'warning'), false);
  assert.equal(shouldPopUp('onWarning', 'warning'), true);
  assert.equal(shouldPopUp('always', 'info'), true);
  assert.equal(shouldPopUp(undefined, 'warning'), true);
});

test('palette commands do not reuse the ids the language client registers for the server', () => {
  const contributed: string[] = manifest.contributes.commands.map((c: { command: string }) => c.command);
  const serverCommands = ['scms.remember', 'scms.accept', 'scms.reject', 'scms.promote', 'scms.promoteEligible',
    'scms.demote', 'scms.forget', 'scms.list', 'scms.recall', 'scms.export', 'scms.closeSession', 'scms.status'];
  assert.deepEqual(contributed.filter((id) => serverCommands.includes(id)), []);
});
