/**
 * The process that reads declaration files (started by load.ts under tsx, the TypeScript loader for
 * the user's files). For each file in argv: tell the parent which file is loading, import it, send
 * back the declarations it exports (structured clone: dates survive, functions do not) or why it
 * failed. A file that calls process.exit gets an error instead; one that ends this process or never
 * finishes loading is reported by the parent, which watches this one.
 */

import { pathToFileURL } from 'node:url';
import { serialize } from 'node:v8';
import { isCalendarDeclaration, isScheduleDeclaration } from './api.ts';
import type { ChildMessage } from './load-protocol.ts';

const exit = process.exit.bind(process);
const send = (message: ChildMessage) =>
  new Promise<void>((resolve, reject) =>
    process.send!(message, (error: Error | null) => (error ? reject(error) : resolve())),
  );

class ExitCalled extends Error {}

process.exit = ((code?: number | string | null) => {
  throw new ExitCalled(
    `called process.exit(${code ?? ''}) while loading; a declaration file must only declare schedules`,
  );
}) as typeof process.exit;

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function loadFile(file: string): Promise<void> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    await send({ type: 'failed', file, reason: `cannot load the file: ${reasonOf(error)}` });
    return;
  }
  const seen = new Set<unknown>();
  const declarations: Record<string, unknown>[] = [];
  const unreadable: { name: string; reason: string }[] = [];
  const calendars: Record<string, unknown>[] = [];
  for (const value of Object.values(module)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (isCalendarDeclaration(item) && !seen.has(item)) {
        seen.add(item);
        calendars.push(JSON.parse(JSON.stringify({ ...item })) as Record<string, unknown>);
        continue;
      }
      if (!isScheduleDeclaration(item) || seen.has(item)) continue;
      seen.add(item);
      const plain: Record<string, unknown> = { ...item };
      // A calendar passed by value is sent by name: it is declared (and exported) on its own.
      if (Array.isArray(plain.calendars)) {
        plain.calendars = plain.calendars.map((c: unknown) => (isCalendarDeclaration(c) ? c.name : c));
      }
      try {
        serialize(plain);
        declarations.push(plain);
      } catch (error) {
        unreadable.push({
          name: String(item.name),
          reason: `holds a function, symbol or other value that is not data (${reasonOf(error)}); use strings, numbers, booleans, dates and JSON`,
        });
      }
    }
  }
  await send({ type: 'loaded', file, declarations, unreadable, calendars });
}

for (const file of process.argv.slice(2)) {
  await send({ type: 'loading', file });
  await loadFile(file);
}
await send({ type: 'done' });
// Timers or sockets a file left open must not keep this process alive.
exit(0);
