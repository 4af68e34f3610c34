/**
 * Import rules for src/ (npm run check:imports). Paths are relative to the
 * folder the check runs in, so the same rules check the fixture trees under
 * test/fixtures/imports/ (test/unit/import-rules.test.ts).
 *
 * Type-only imports (`import type`) count: a cycle of types still ties the
 * modules together (neither can be read, moved or tested without the other),
 * even though the compiled JavaScript would not load it.
 */
import { fileURLToPath } from 'node:url';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Modules in src/ must not import each other in a cycle, type-only imports included: ' +
        'move the shared part into a module both can import, or hand one side an interface.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'hub-stands-alone',
      severity: 'error',
      comment:
        'The Hub (src/server/hub.ts) drives sessions on one app server and must not know how a ' +
        'deployment is wired: no imports from src/cluster/, src/bus/ or src/matchmaker/. ' +
        'Whatever it needs from them is handed to it through an interface of its own.',
      from: { path: '^src/server/hub\\.ts$' },
      to: { path: '^src/(cluster|bus|matchmaker)/' },
    },
  ],
  options: {
    // Count `import type` too (see above).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: fileURLToPath(new URL('tsconfig.json', import.meta.url)) },
    doNotFollow: { path: 'node_modules' },
    moduleSystems: ['es6'],
  },
};
