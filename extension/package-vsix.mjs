// Packages the .vsix offline: a wheel of the Python server goes into dist/ (for the private
// environment the extension can create), then vsce packs the manifest, out/, media/ and dist/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const python = process.env.PYTHON || path.join(root, '.venv', 'bin', 'python');
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

rmSync(path.join(root, 'dist'), { recursive: true, force: true });
mkdirSync(path.join(root, 'dist'));
execFileSync(python, ['-m', 'pip', 'wheel', '--quiet', '--disable-pip-version-check', '--no-deps', '-w', 'dist', '.'],
  { cwd: root, stdio: 'inherit' });
const wheels = readdirSync(path.join(root, 'dist')).filter((name) => name.endsWith('.whl'));
if (wheels.length !== 1) throw new Error(`expected one server wheel in dist/, found ${wheels.join(', ') || 'none'}`);

mkdirSync(path.join(root, 'build'), { recursive: true });
const out = path.join(root, 'build', `scms-${version}.vsix`);
const vsce = path.join(root, 'node_modules', '.bin', 'vsce');
execFileSync(vsce, ['package', '--no-dependencies', '--allow-missing-repository', '--readme-path', 'extension/README.md', '--out', out], { cwd: root, stdio: 'inherit' });
if (!existsSync(out)) throw new Error(`vsce did not write ${out}`);
console.log(out);
