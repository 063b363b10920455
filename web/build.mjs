/**
 * build.mjs — bundles the web UI into dist/ with esbuild: index.html (copied), app.js (ES
 * module bundle of src/main.js with Chart.js, minified, source map) and app.css (minified,
 * source map). The core serves dist/ as static_dir. Run: node build.mjs (from anywhere).
 */
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
const common = { bundle: true, minify: true, sourcemap: true, logLevel: 'warning', legalComments: 'linked' };
await build({
  ...common,
  entryPoints: [join(here, 'src/main.js')],
  outfile: join(dist, 'app.js'),
  format: 'esm',
  target: ['es2020'],
});
await build({ ...common, entryPoints: [join(here, 'src/app.css')], outfile: join(dist, 'app.css') });
await copyFile(join(here, 'index.html'), join(dist, 'index.html'));
console.log(`web: built ${dist}`);
