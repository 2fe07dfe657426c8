// End-to-end test of the MCP offer in a current VS Code (code-server 4.139.1 = VS Code 1.139, on Node 24): install
// the .vsix, open a demo workspace, and check through the real UI that "MCP: List Servers" lists the SCMS server the
// extension offers; start it from there and check that VS Code runs it (the language server's Python, this folder)
// and that the chat's tool picker lists its six tools; turn scms.mcp.enabled off and check that the entry goes away
// and the server stops, without a restart; start the .vscode/mcp.json that docs/mcp.md gives; and turn the setting
// on again. Screenshots land in build/e2e/.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const CODE_SERVER = path.join(ROOT, 'build/code-server-current/node_modules/.bin/code-server');
const NODE24_BIN = path.join(ROOT, 'build/node24/node_modules/.bin');
const PYTHON = process.env.PYTHON || path.join(ROOT, '.venv/bin/python');
const VSIX = process.env.VSIX || path.join(ROOT, 'build', `scms-${JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}.vsix`);
const ARTIFACTS = path.join(ROOT, 'build/e2e');
const PORT = Number(process.env.PORT || 19000 + Math.floor(Math.random() * 1000));
const BASE = `http://127.0.0.1:${PORT}`;
const LABEL = 'SCMS Pattern Memory';
const TOOLS = ['search_patterns', 'get_pattern', 'add_candidate', 'record_use', 'list_patterns', 'session_report'];

const t0 = Date.now();
const log = (...args) => console.log(`[e2e mcp ${String(Date.now() - t0).padStart(6)} ms]`, ...args);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scms-e2e-mcp-'));
const dirs = Object.fromEntries(['data', 'exts', 'chrome', 'xdg-config', 'xdg-data'].map((d) => [d, path.join(tmp, d)]));
Object.values(dirs).forEach((d) => fs.mkdirSync(d, { recursive: true }));
const ws = path.join(tmp, 'demo');
fs.mkdirSync(path.join(ws, 'src'), { recursive: true });
const stdlib = execFileSync(PYTHON, ['-c', 'import sysconfig; print(sysconfig.get_paths()["stdlib"])'], { encoding: 'utf8' }).trim();
fs.copyFileSync(path.join(stdlib, 'shutil.py'), path.join(ws, 'src', 'shutil.py'));

const userSettings = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'workbench.tips.enabled': false,
  'editor.minimap.enabled': false,
  'scms.server.interpreter': [PYTHON],
  'scms.recall.embeddings': false, // the MCP server then recalls by words (--lexical): no model to load on 2 cores
  'scms.learning.enabled': false,
  'scms.promotionThreshold': 3, // must reach the MCP server, in SCMS_SETTINGS
};
// VS Code 1.139 treats code-server's window as remote: machine-scoped settings (the interpreter) are read from the
// remote's Machine settings, not the user's
const settingsFiles = ['User', 'Machine'].map((scope) => path.join(dirs.data, scope, 'settings.json'));
const writeSettings = (extra = {}) => settingsFiles.forEach((file) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ ...userSettings, ...extra }, null, 2));
});
writeSettings();

// code-server 4.139 and the extension host it starts run on Node 24
const env = { ...process.env, PATH: `${NODE24_BIN}:${process.env.PATH}`, TMPDIR: tmp, XDG_CONFIG_HOME: dirs['xdg-config'], XDG_DATA_HOME: dirs['xdg-data'] };
const csArgs = ['--config', path.join(tmp, 'config.yaml'), '--extensions-dir', dirs.exts, '--user-data-dir', dirs.data];

let server;
let context;
let page;
async function cleanup() {
  if (context) await context.close().catch(() => {});
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    try { process.kill(-server.pid, 'SIGTERM'); } catch {}
    await Promise.race([exited, sleep(5000)]);
    try { process.kill(-server.pid, 'SIGKILL'); } catch {}
  }
  if (!process.env.KEEP) fs.rmSync(tmp, { recursive: true, force: true });
}

/** The text of the log files under the user-data folder whose name matches (the SCMS output channel, MCP's). */
function logText(pattern) {
  const found = [];
  const walk = (dir) => fs.existsSync(dir) && fs.readdirSync(dir, { withFileTypes: true }).forEach((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walk(full); else if (pattern.test(e.name)) found.push(fs.readFileSync(full, 'utf8'));
  });
  walk(path.join(dirs.data, 'logs'));
  return found.join('\n');
}
const mcpLines = () => logText(/SCMS/).split('\n').filter((line) => line.includes('MCP: '));

/** The `… -m scms mcp` processes for the demo workspace (Linux: read from /proc). */
function mcpServers() {
  return fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).filter((pid) => {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const at = argv.indexOf('-m');
      return at >= 0 && argv[at + 1] === 'scms' && argv[at + 2] === 'mcp' && argv.includes(ws);
    } catch {
      return false;
    }
  }).map(Number);
}

async function palette(command) {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  // F1 is lost while the focus is nowhere (a page just opened), and the palette closes when a panel takes the focus
  // (VS Code shows a server's output as it starts): focus the workbench and try again
  for (let i = 0; ; i++) {
    await page.keyboard.press('F1');
    try {
      await input.fill(`>${command}`, { timeout: 3000 });
      break;
    } catch (error) {
      if (i === 3) throw error;
      await page.keyboard.press('Escape');
      await page.locator('.part.sidebar .composite.title').first().click();
    }
  }
  await page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first().waitFor();
  await page.keyboard.press('Enter');
}

// the rows of the quick pick on screen (a closed one keeps its rows in the page, hidden)
const rows = () => page.locator('.quick-input-widget:visible .quick-input-list .monaco-list-row');
const rowTexts = async () => (await rows().allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
const outputText = async () => (await page.locator('.output-view .view-lines').first().innerText().catch(() => '')).replace(/\s+/g, ' ');

/** MCP: List Servers, and the row of the server called `name`. */
async function listServers(name) {
  await palette('MCP: List Servers');
  const row = rows().filter({ hasText: new RegExp(`^${name}(Stopped|Running|Starting)`) }).first();
  await row.waitFor({ timeout: 30_000 })
    .catch(async (error) => { throw new Error(`${error.message}; MCP: List Servers shows ${JSON.stringify(await rowTexts())}`); });
  await sleep(1000); // the list fades in
  return row;
}

/** Start the server `name` from MCP: List Servers; wait until its output (MCP: name) says it runs with our six tools. */
async function startFromList(name) {
  await (await listServers(name)).click();
  await until('the "Start Server" action', async () => (await rowTexts()).some((t) => t.startsWith('Start Server')), 15_000)
    .catch(async (error) => { throw new Error(`${error.message}; the actions are ${JSON.stringify(await rowTexts())}`); });
  await rows().filter({ hasText: 'Start Server' }).first().click();
  const ours = async () => (await outputText()).includes(`Starting server ${name} `);
  if (!(await until(`the output of ${name}`, ours, 5_000).catch(() => false))) { // VS Code shows it as the server starts; else ask
    await (await listServers(name)).click();
    await until('the "Show Output" action', async () => (await rowTexts()).includes('Show Output'), 15_000);
    await rows().filter({ hasText: 'Show Output' }).first().click();
  }
  await until(`"Discovered 6 tools" in the output of ${name}`, async () => {
    const text = await outputText();
    return (await ours()) && text.includes('Connection state: Running') && text.includes('Discovered 6 tools');
  }, 60_000).catch(async (error) => { throw new Error(`${error.message}; the output shows: ${await outputText()}`); });
  await sleep(500); // let the picker fade out
}

let failed = false;
try {
  if (!fs.existsSync(CODE_SERVER)) throw new Error('code-server 4.139.1 is not installed: run scripts/install-code-server.sh');
  if (!fs.existsSync(VSIX)) throw new Error(`${VSIX} does not exist: run npm run package`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  execFileSync(CODE_SERVER, [...csArgs, '--install-extension', VSIX], { env, stdio: 'pipe' });
  log('installed', path.basename(VSIX), 'in', execFileSync(CODE_SERVER, ['--version'], { env, encoding: 'utf8' }).split('\n').find((l) => l.includes('Code')));

  server = spawn(CODE_SERVER, [...csArgs, '--bind-addr', `127.0.0.1:${PORT}`, '--auth', 'none', '--disable-telemetry',
    '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', ws],
  { detached: true, env, stdio: ['ignore', fs.openSync(path.join(tmp, 'code-server.log'), 'w'), fs.openSync(path.join(tmp, 'code-server.err'), 'w')] });
  await until('code-server', async () => { try { return (await fetch(`${BASE}/healthz`)).ok; } catch { return false; } }, 60_000);
  log('code-server answers');

  context = await chromium.launchPersistentContext(dirs.chrome, {
    executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1500, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${BASE}/?folder=${encodeURIComponent(ws)}`);
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'src' }).waitFor({ timeout: 90_000 });
  log('workbench shows the demo workspace');

  // 1. the extension says it offered the server, with the language server's Python and this folder
  const expected = `${PYTHON} -m scms mcp --workspace ${ws} --lexical`;
  const offered = await until('the SCMS output to say it offered the MCP server', () => mcpLines().find((l) => l.includes('MCP: offered')), 60_000)
    .catch((error) => { throw new Error(`${error.message}; its MCP lines: ${JSON.stringify(mcpLines())}`); });
  if (!offered.includes(`(${expected})`)) throw new Error(`offered another command line: ${offered}`);
  log(offered.replace(/^.*?MCP: /, 'MCP: '));

  // 2. MCP: List Servers shows it
  await listServers(LABEL);
  await page.screenshot({ path: path.join(ARTIFACTS, 'mcp-list-servers.png') });
  log(`MCP: List Servers shows ${JSON.stringify(await rowTexts())}; screenshot build/e2e/mcp-list-servers.png`);

  // 3. start it from there: VS Code runs `scms mcp` (no trust prompt: the editor trusts servers an extension offers),
  // the extension sees it resolve the definition, and the server's output says it runs with its six tools
  await startFromList(LABEL);
  const pid = await until('a "scms mcp" process for the workspace', () => mcpServers()[0], 30_000);
  const given = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((v) => v.startsWith('SCMS_SETTINGS='));
  const passed = given ? JSON.parse(given.slice('SCMS_SETTINGS='.length)) : undefined;
  if (passed?.promotionThreshold !== 3 || passed?.learning?.enabled !== false) throw new Error(`the server did not get the editor's settings: ${given}`);
  log(`the server got the editor's settings in SCMS_SETTINGS (promotionThreshold ${passed.promotionThreshold}, learning.enabled false)`);
  const started = mcpLines().find((l) => l.includes('MCP: the editor starts the SCMS memory server'));
  if (!started?.includes(`(${expected})`)) throw new Error(`the extension did not see VS Code start the server it offered: ${JSON.stringify(mcpLines())}`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'mcp-running.png') });
  log(`VS Code started the MCP server (pid ${pid}); its output: "Connection state: Running", "Discovered 6 tools"; screenshot build/e2e/mcp-running.png`);
  log(started.replace(/^.*?MCP: /, 'MCP: '));
  await listServers(LABEL);
  await until(`"${LABEL} Running" in MCP: List Servers`, async () => (await rowTexts()).some((t) => t.startsWith(`${LABEL}Running`)), 15_000)
    .catch(async (error) => { throw new Error(`${error.message}; the list shows ${JSON.stringify(await rowTexts())}`); });
  log(`MCP: List Servers shows ${JSON.stringify(await rowTexts())}`);

  // 4. the chat's Configure Tools picker lists the server with each of its tools
  await page.keyboard.press('Escape');
  await page.locator('[aria-label="Configure Tools..."]').first().click();
  const treeRows = page.locator('.quick-input-widget .monaco-list-row');
  const scmsRow = treeRows.filter({ hasText: LABEL }).first();
  await scmsRow.waitFor({ timeout: 15_000 });
  if ((await scmsRow.getAttribute('aria-expanded')) !== 'true') await scmsRow.locator('.monaco-tl-twistie').click();
  const shown = await until('the six tools under the SCMS server', async () => {
    const names = (await treeRows.allInnerTexts()).map((t) => t.trim().split(/\s/)[0].replace(/[A-Z].*$/, ''));
    return TOOLS.every((tool) => names.includes(tool)) && names.filter((n) => TOOLS.includes(n));
  }, 15_000).catch(async (error) => { throw new Error(`${error.message}; the picker shows ${JSON.stringify(await treeRows.allInnerTexts())}`); });
  await page.screenshot({ path: path.join(ARTIFACTS, 'mcp-tools.png') });
  log(`Configure Tools lists the server's tools: ${shown.join(', ')}; screenshot build/e2e/mcp-tools.png`);
  await page.keyboard.press('Escape');

  // 5. scms.mcp.enabled off: the entry goes away and VS Code stops the server, without a restart
  writeSettings({ 'scms.mcp.enabled': false });
  await until('the SCMS output to say the server is no longer offered', () => mcpLines().some((l) => l.includes('no longer offered (scms.mcp.enabled is off)')), 30_000);
  await until('the "scms mcp" process to end', () => mcpServers().length === 0, 30_000);
  await sleep(1000); // let the workbench settle after the settings change (it moves the focus)
  await palette('MCP: List Servers');
  await until(`"${LABEL}" to leave MCP: List Servers`, async () => {
    await sleep(1000); // the list fades in
    const texts = await rowTexts();
    return texts.some((t) => t.startsWith('Add Server')) && !texts.some((t) => t.startsWith(LABEL)) && texts;
  }, 30_000).catch(async (error) => { throw new Error(`${error.message}; the list shows ${JSON.stringify(await rowTexts())}`); });
  await page.screenshot({ path: path.join(ARTIFACTS, 'mcp-disabled.png') });
  log(`scms.mcp.enabled off: MCP: List Servers shows ${JSON.stringify(await rowTexts())} and the server stopped; screenshot build/e2e/mcp-disabled.png`);
  await page.keyboard.press('Escape');

  // 6. the hand configuration docs/mcp.md gives for .vscode/mcp.json works: VS Code lists it, expands
  // ${workspaceFolder} to the folder, and runs it with its six tools
  const docs = fs.readFileSync(path.join(ROOT, 'docs/mcp.md'), 'utf8');
  const block = /<!-- extension\/test\/e2e\/mcp\.mjs starts this configuration[^>]*-->\s*```json\n([\s\S]*?)```/.exec(docs);
  if (!block) throw new Error('docs/mcp.md lacks the marked .vscode/mcp.json block');
  const handConfig = JSON.parse(block[1]);
  handConfig.servers.scms.command = PYTHON; // the docs say /path/to/venv/bin/python
  handConfig.servers.scms.args.push('--lexical'); // no embedding model to load here
  fs.mkdirSync(path.join(ws, '.vscode'), { recursive: true });
  fs.writeFileSync(path.join(ws, '.vscode/mcp.json'), JSON.stringify(handConfig, null, 2));
  const before = new Set(mcpServers());
  await startFromList('scms');
  const handPid = await until('the "scms mcp" process of .vscode/mcp.json, on the workspace folder',
    () => mcpServers().find((p) => !before.has(p)), 30_000);
  await page.screenshot({ path: path.join(ARTIFACTS, 'mcp-hand-config.png') });
  log(`.vscode/mcp.json from docs/mcp.md: VS Code ran it (pid ${handPid}, \${workspaceFolder} = the demo folder) with its six tools, `
    + 'asking nothing; screenshot build/e2e/mcp-hand-config.png');
  await page.keyboard.press('Escape');

  // 7. scms.mcp.enabled on again: offered and listed again, still without a restart
  writeSettings();
  await until('the SCMS output to offer the server again', () => mcpLines().filter((l) => l.includes('MCP: offered')).length === 2, 30_000);
  await listServers(LABEL);
  log(`scms.mcp.enabled on again: MCP: List Servers shows ${JSON.stringify(await rowTexts())}`);
  log('PASS');
} catch (error) {
  failed = true;
  console.error('[e2e mcp] FAILED:', error);
  if (page) await page.screenshot({ path: path.join(ARTIFACTS, 'mcp-failure.png') }).catch(() => {});
  for (const name of ['code-server.log', 'code-server.err']) {
    const logFile = path.join(tmp, name);
    if (fs.existsSync(logFile)) console.error(`--- ${name} (tail) ---\n${fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')}`);
  }
  console.error(`--- SCMS output, MCP lines ---\n${mcpLines().join('\n')}`);
} finally {
  await cleanup();
}
process.exit(failed ? 1 : 0);
