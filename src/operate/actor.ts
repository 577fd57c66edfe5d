/** Who did something, for the audit log (src/db/sql/audit.ts): the CLI's person, the client's caller. */
import { hostname, userInfo } from 'node:os';
import type { ActorVia } from '../db/schema.ts';
import type { Actor } from '../db/sql/audit.ts';

export type { Actor, ActorVia };

/** `user@host` of this process. */
function processUser(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // A container user with no passwd entry.
    user = process.env.USER ?? `uid ${process.getuid?.() ?? '?'}`;
  }
  return `${user}@${hostname()}`;
}

export function cliActor(): Actor {
  return { name: processUser(), via: 'cli', address: null };
}

/** The client's caller: the name the application gives (`connect({ actor })`), else user@host. */
export function clientActor(name?: string): Actor {
  const given = name?.trim().slice(0, 200);
  return { name: given || processUser(), via: 'client', address: null };
}
