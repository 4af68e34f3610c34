// Writes the generated reference docs (configuration and errors) from the code.
// `npm run docs` rewrites them; test/unit/docs.test.ts fails when they are stale.
import { writeFileSync } from 'node:fs';
import { generatedDocs } from '../src/cli/docs.js';

for (const [file, text] of Object.entries(generatedDocs())) {
  writeFileSync(file, text);
  console.log(`wrote ${file}`);
}
