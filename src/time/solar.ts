/**
 * Solar schedules: Celery's nine sun events at a latitude and longitude, computed with suncalc.
 * Sunrise and sunset are the sun's upper limb at -0°50' (refraction included), which is what
 * Celery's PyEphem setup (horizon -0:34, upper limb, no atmosphere model) computes; the dawn and
 * dusk events are the sun's centre at -6°, -12° and -18°. Instants are truncated to whole seconds.
 *
 * Celery 5.2's `dusk_astronomical` uses a horizon of +18° (a typo in its table); ours is -18°, the
 * astronomical definition its name and docs promise.
 *
 * Altitudes are topocentric, as PyEphem's are (see SOLAR_PARALLAX), and without refraction.
 *
 * suncalc supplies the solar noons (transits) and the sun's position; the crossing itself is found
 * here by bisection on the sun's altitude, between the solar midnight and noon for a rising event
 * and between noon and the next midnight for a setting one. suncalc's own rise and set times are
 * not used: they decide whether the day has the event from the declination at noon and then take
 * two Newton steps, which near polar day and night (the sun grazing the altitude near midnight or
 * noon) can land hours away from any crossing or report a crossing on a day that has none.
 * test/time/solar-reference.test.ts checks the result against PyEphem, Celery's engine.
 */
import { getPosition, getTimes } from 'suncalc';
import { DAY, SECOND } from './civil.ts';

export const SOLAR_EVENTS = [
  'dawn_astronomical',
  'dawn_nautical',
  'dawn_civil',
  'sunrise',
  'solar_noon',
  'sunset',
  'dusk_civil',
  'dusk_nautical',
  'dusk_astronomical',
] as const;
export type SolarEvent = (typeof SOLAR_EVENTS)[number];

/** The geometric altitude (degrees, no refraction) of the sun's centre at each rising or setting event. */
const ALTITUDE: Record<Exclude<SolarEvent, 'solar_noon'>, { degrees: number; rising: boolean }> = {
  dawn_astronomical: { degrees: -18, rising: true },
  dawn_nautical: { degrees: -12, rising: true },
  dawn_civil: { degrees: -6, rising: true },
  sunrise: { degrees: -0.833, rising: true },
  sunset: { degrees: -0.833, rising: false },
  dusk_civil: { degrees: -6, rising: false },
  dusk_nautical: { degrees: -12, rising: false },
  dusk_astronomical: { degrees: -18, rising: false },
};

/**
 * suncalc's getPosition reports the apparent altitude: geometric plus refraction, where refraction
 * for any altitude below the horizon is taken at 0° (Meeus 16.4, in suncalc's `astroRefraction`):
 * a constant. Every event altitude is below the horizon, so the geometric altitude `h` is crossed
 * exactly when the reported altitude crosses `h + REFRACTION_BELOW_HORIZON`.
 */
const REFRACTION_BELOW_HORIZON = (0.0002967 / Math.tan(0.00312536 / 0.08901179)) * (180 / Math.PI);

/**
 * suncalc's positions are geocentric; PyEphem's (Celery's) are topocentric, where the sun stands
 * lower by its horizontal parallax, 8.794" (0.00244°) times the cosine of its altitude, which is
 * within 5% of 1 at every event altitude. The topocentric altitude `h` is the geocentric `h + 0.00244°`.
 * Small, but near polar day and night it decides on which day a grazing event first happens.
 */
const SOLAR_PARALLAX = 0.00244;

/** An event that has not happened for this many days is dormant: no next fire. */
const DORMANT_AFTER_DAYS = 366;
const HALF_DAY = DAY / 2;

export class SolarSchedule {
  readonly #target: { apparent: number; rising: boolean } | null;

  constructor(
    readonly event: SolarEvent,
    readonly latitude: number,
    readonly longitude: number,
  ) {
    if (event === 'solar_noon') {
      this.#target = null;
    } else {
      const { degrees, rising } = ALTITUDE[event];
      this.#target = { apparent: degrees + REFRACTION_BELOW_HORIZON + SOLAR_PARALLAX, rising };
    }
  }

  /** The next event strictly after `after`, or null when it does not occur within a year (dormant). */
  next(after: number): number | null {
    // At a pole the sun has no hour angle and does not rise or set in a day; PyEphem (Celery)
    // never finds these events there, and neither do we.
    if (this.#target !== null && Math.abs(this.latitude) >= 90) return null;
    // Walk solar days (noon to noon) from the day before the one around `after`. Each day's event
    // lies in that day's own half-day window and the windows follow one another, so the first event
    // after `after` is the answer. Stepping from one noon to the next (rather than from `after` in
    // whole days) cannot skip or repeat a day however the equation of time drifts.
    const horizon = after + DORMANT_AFTER_DAYS * DAY;
    for (let noon = this.#transitNear(after - DAY); noon - HALF_DAY <= horizon; ) {
      const at = this.#eventOfDay(noon);
      if (at !== null && at > after) return at <= horizon ? at : null;
      noon = this.#transitNear(noon + DAY);
    }
    return null;
  }

  /** The solar noon (transit) nearest to an instant, in milliseconds. */
  #transitNear(instant: number): number {
    return getTimes(new Date(instant), this.latitude, this.longitude).solarNoon.getTime();
  }

  /** The event of the solar day with this noon, truncated to whole seconds, or null if it has none. */
  #eventOfDay(noon: number): number | null {
    const target = this.#target;
    if (target === null) return Math.floor(noon / SECOND) * SECOND;
    // Rising: the sun climbs from its lowest (solar midnight) to its highest (noon), so it crosses
    // the altitude in between iff it is below it at midnight and at or above it at noon; setting
    // mirrors that from noon to the next midnight. `above(t)` is whether the sun is at or above it.
    const above = (t: number) =>
      getPosition(new Date(t), this.latitude, this.longitude).altitude >= target.apparent;
    let lo = target.rising ? noon - HALF_DAY : noon;
    let hi = target.rising ? noon : noon + HALF_DAY;
    const loAbove = above(lo);
    if (loAbove === target.rising || above(hi) === loAbove) return null;
    // Invariant: the crossing lies in (lo, hi]. Bisect down to a millisecond.
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (above(mid) === loAbove) lo = mid;
      else hi = mid;
    }
    return Math.floor(hi / SECOND) * SECOND;
  }
}
