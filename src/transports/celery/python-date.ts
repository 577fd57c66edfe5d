/**
 * Dates in Celery headers (`expires`, `eta`, our `scheduled_for`): `datetime.isoformat()` of an aware UTC
 * datetime, always with six fraction digits and an explicit `+00:00`.
 *
 * Celery 5.2's parser reads the digits after the seconds as a count of microseconds, so the three
 * digits of `Date.prototype.toISOString()` (`.743Z`) would mean 743 µs and the task would run up to a
 * second early or be judged expired late. Python itself omits the fraction when the microseconds are 0;
 * we always write six digits, which every Celery version reads the same way.
 */
export function formatPythonDate(ms: number): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new RangeError(`formatPythonDate: ${String(ms)} is not a finite number of milliseconds`);
  }
  // Sub-millisecond parts are kept to the microsecond, rounding to nearest.
  let whole = Math.floor(ms);
  let extraMicros = Math.round((ms - whole) * 1000);
  if (extraMicros === 1000) {
    whole += 1;
    extraMicros = 0;
  }
  const d = new Date(whole);
  const year = d.getUTCFullYear();
  if (Number.isNaN(year) || year < 1 || year > 9999) {
    throw new RangeError(`formatPythonDate: ${ms} ms is outside Python's datetime range (years 1 to 9999)`);
  }
  const p2 = (v: number) => String(v).padStart(2, '0');
  const micros = d.getUTCMilliseconds() * 1000 + extraMicros;
  return (
    `${String(year).padStart(4, '0')}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}` +
    `T${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}` +
    `.${String(micros).padStart(6, '0')}+00:00`
  );
}
