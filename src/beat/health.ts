/**
 * What the beat says about itself to /healthz and /readyz (see docs/runtime.md, "HTTP"):
 * liveness — is the process turning (a wedged one should be restarted); readiness — is this replica
 * fit to lead (a healthy standby is).
 */

export interface Readiness {
  ready: boolean;
  role: 'leader' | 'standby' | 'starting' | 'stopping';
  reasons: string[];
}

export interface Liveness {
  live: boolean;
  reasons: string[];
}

/** Resolves true when `promise` settles within `ms`, false otherwise (the promise runs on). */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
}
