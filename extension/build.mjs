// Bundles the extension with esbuild into out/extension.js; with --tests, also the Node tests into out/test/
// (where `vscode` is a small fake: test/fakes/vscode.ts).
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const common = { bundle: true, platform: 'node', target: 'node18', format: 'cjs', logLevel: 'warning' };

await build({ ...common, entryPoints: [path.join(here, 'src/extension.ts')], outfile: 'out/extension.js', external: ['vscode'], minify: true, sourcemap: 'external' });

if (process.argv.includes('--tests')) {
  const tests = readdirSync(path.join(here, 'test')).filter((name) => name.endsWith('.test.ts'));
  await build({
    ...common,
    entryPoints: tests.map((name) => path.join(here, 'test', name)),
    outdir: 'out/test',
    outExtension: { '.js': '.cjs' },
    alias: { vscode: path.join(here, 'test/fakes/vscode.ts') }, // the few parts of the API that mcp.ts uses
  });
}
