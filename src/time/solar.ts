/**
 * Solar schedules: Celery's nine sun events at a latitude and longitude, computed with suncalc.
 * Sunrise and sunset are the sun's upper limb at -0°50' (refraction included), which is what
 * Celery's PyEphem setup (horizon -0:34, upper limb, no atmosphere model) computes; the dawn and
 * dusk events are the sun's centre at -6°, -12° and -18°. Instants are truncated to whole seconds.
 *
 * Celery 5.2's `dusk_astronomical` uses a horizon of +18° (a typo in its table); ours is -18°, the
 * astronomical definition its name and docs promise.
 */
import { getTimes, type SunTimeName } from 'suncalc';
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

const SUNCALC_NAME: Record<SolarEvent, SunTimeName | 'solarNoon'> = {
  dawn_astronomical: 'nightEnd',
  dawn_nautical: 'nauticalDawn',
  dawn_civil: 'dawn',
  sunrise: 'sunrise',
  solar_noon: 'solarNoon',
  sunset: 'sunset',
  dusk_civil: 'dusk',
  dusk_nautical: 'nauticalDusk',
  dusk_astronomical: 'night',
};

/** An event that has not happened for this many days is dormant: no next fire. */
const DORMANT_AFTER_DAYS = 366;

export class SolarSchedule {
  readonly #name: SunTimeName | 'solarNoon';

  constructor(
    readonly event: SolarEvent,
    readonly latitude: number,
    readonly longitude: number,
  ) {
    this.#name = SUNCALC_NAME[event];
  }

  /** The next event strictly after `after`, or null when it does not occur within a year (dormant). */
  next(after: number): number | null {
    let best = Number.POSITIVE_INFINITY;
    // suncalc answers for the solar day around the date given; step a day at a time and keep the
    // earliest event after `after`. One more day after the first hit covers days whose event falls
    // on either side of a UTC midnight.
    let foundAt = -1;
    for (let k = -1; k <= DORMANT_AFTER_DAYS; k++) {
      if (foundAt >= 0 && k > foundAt + 1) break;
      const at = this.#eventOfDay(after + k * DAY);
      if (at !== null && at > after) {
        if (at < best) best = at;
        if (foundAt < 0) foundAt = k;
      }
    }
    return best === Number.POSITIVE_INFINITY ? null : best;
  }

  #eventOfDay(instant: number): number | null {
    const value = getTimes(new Date(instant), this.latitude, this.longitude)[this.#name];
    if (!(value instanceof Date)) return null;
    const ms = value.getTime();
    if (Number.isNaN(ms)) return null;
    return Math.floor(ms / SECOND) * SECOND;
  }
}
