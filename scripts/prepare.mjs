// npm runs `prepare` after a plain `npm install` or `npm ci` in this folder. With the
// devDependencies installed, it builds dist/ (npm run build). Without them (`npm ci
// --omit=dev` on a tree built elsewhere: docs/deploy.md, "Installing for production")
// there is nothing to build with: it keeps the dist/ already there, or stops and says why.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
/** The build needs typescript (tsc) and esbuild (the browser bundles). */
const buildTools = ['typescript', 'esbuild'].filter((name) => {
  try {
    require.resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
});

if (buildTools.length === 2) {
  const npm = process.env.npm_execpath;
  const build = npm
    ? spawnSync(process.execPath, [npm, 'run', 'build'], { cwd: root, stdio: 'inherit' })
    : spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  process.exit(build.status ?? 1);
}
const built = ['dist/cli/main.js', 'dist/web/public/index.html', 'dist/web/admin/dashboard.html'];
const missing = built.filter((file) => !existsSync(join(root, file)));
if (missing.length === 0) {
  console.log('samesong: devDependencies not installed, so not building: using the dist/ already here');
  process.exit(0);
}
console.error(
  `samesong: dist/ is not built (${missing.join(', ')} missing) and the build tools are not installed\n` +
    '(devDependencies). Install with them to build (npm ci), or copy a tree whose dist/ is built and\n' +
    'run npm ci --omit=dev there (docs/deploy.md, "Installing for production").',
);
process.exit(1);
