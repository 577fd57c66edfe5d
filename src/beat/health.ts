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
