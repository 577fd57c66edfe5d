/**
 * Waiting for a promise with a bound, without cancelling it: the one helper the lock client's
 * close and the AMQP publisher's confirms share. Below every layer (no imports), so any of them may
 * use it.
 */

/** Resolves true when `promise` settles within `ms`, false otherwise (the promise runs on). A rejection rejects. */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
}
