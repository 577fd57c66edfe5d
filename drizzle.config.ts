/**
 * drizzle-kit: `npx drizzle-kit generate` writes SQL for changes to src/db/schema.ts into
 * migrations/; `npx drizzle-kit generate --custom --name <what>` adds an empty file for
 * hand-written SQL (triggers). `beat migrate` applies them all, in order.
 */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
  schemaFilter: ['metronome'],
});
