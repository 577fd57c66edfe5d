/** Who did something, for the audit log: a person at the CLI, a caller of the API or of the client. */
import { hostname, userInfo } from 'node:os';
import type { ActorVia } from '../db/schema.ts';

export type { ActorVia };

export interface Actor {
  /**
   * `alice@build-7` at the CLI; at the API, the name the caller gave (X-Metronome-Actor) or `api`;
   * in the client, the name given to connect() or `user@host` of the process.
   */
  name: string;
  via: ActorVia;
  /** The API caller's address. */
  address: string | null;
}

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
