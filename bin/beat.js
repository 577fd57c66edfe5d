#!/usr/bin/env node
// The `beat` command: the compiled JavaScript in dist/ (`npm run build`; `npm start`, `npm test`
// and `npm pack` build first). Only the user's schedules/*.ts go through a TypeScript loader, in a
// child process of their own (see dist/declare/load.js).
let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('/dist/cli/main.js'))
    throw error;
  process.stderr.write('beat: dist/ is missing: run `npm run build` first (npm start and npm test do)\n');
  process.exit(1);
}
process.exitCode = await main(process.argv);
