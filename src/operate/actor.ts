/** Who did something, for the audit log: a person at the CLI, or a caller of the API. */
import { hostname, userInfo } from 'node:os';

export interface Actor {
  /** `alice@build-7` at the CLI; at the API, the name the caller gave (X-Metronome-Actor) or `api`. */
  name: string;
  via: 'cli' | 'api';
  /** The API caller's address. */
  address: string | null;
}

export function cliActor(): Actor {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // A container user with no passwd entry.
    user = process.env.USER ?? `uid ${process.getuid?.() ?? '?'}`;
  }
  return { name: `${user}@${hostname()}`, via: 'cli', address: null };
}
