#!/usr/bin/env node
// The `beat` command. The sources are TypeScript run through tsx, which is also what loads the
// user's schedules/*.ts declarations, so there is no separate build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
