/**
 * Solar schedules: Celery's nine sun events at a latitude and longitude, where Celery's PyEphem
 * puts them. Celery 5.2's Observer has elevation 0, pressure 0 (no refraction) and a horizon per
 * event: sunrise and sunset are the sun's upper limb at -0°34' (its centre one apparent radius
 * lower, the radius of that day's distance), the dawn and dusk events its centre at -6°, -12° and
 * -18°, solar noon its transit. Altitudes and hour angles are topocentric and apparent for the
 * epoch of date, as PyEphem's are. Instants are truncated to whole seconds.
 *
 * Celery 5.2's `dusk_astronomical` uses a horizon of +18° (a typo in its table); ours is -18°, the
 * astronomical definition its name and docs promise.
 *
 * The sun's position comes from astronomy-engine (VSOP87, IAU nutation and precession, aberration,
 * topocentric parallax): to well under an arcsecond of PyEphem's, so events agree to about a
 * second. suncalc's low-precision sun was off by up to 0.01°, which near polar day and night (the
 * sun grazing the altitude) moved events by a minute. The crossing itself is found here: bracketed
 * between the solar midnight and noon for a rising event and between noon and the next midnight for
 * a setting one, then located by false position. A day whose bracket does not straddle the altitude
 * has no event. test/time/solar-reference.test.ts checks the result against PyEphem.
 */
import { Body, Equator, Horizon, Observer, SearchHourAngle } from 'astronomy-engine';
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

interface Target {
  /** Degrees: the horizon of Celery's Observer for the event. */
  horizon: number;
  /** Whether the horizon is for the upper limb (sunrise, sunset) rather than the centre. */
  upperLimb: boolean;
  rising: boolean;
}

const SUNRISE_HORIZON = -34 / 60;
const TARGETS: Record<Exclude<SolarEvent, 'solar_noon'>, Target> = {
  dawn_astronomical: { horizon: -18, upperLimb: false, rising: true },
  dawn_nautical: { horizon: -12, upperLimb: false, rising: true },
  dawn_civil: { horizon: -6, upperLimb: false, rising: true },
  sunrise: { horizon: SUNRISE_HORIZON, upperLimb: true, rising: true },
  sunset: { horizon: SUNRISE_HORIZON, upperLimb: true, rising: false },
  dusk_civil: { horizon: -6, upperLimb: false, rising: false },
  dusk_nautical: { horizon: -12, upperLimb: false, rising: false },
  dusk_astronomical: { horizon: -18, upperLimb: false, rising: false },
};

/** The sun's apparent radius at 1 au, in degrees (PyEphem's 4.65242e-3 rad, 959.63"). */
const SUN_RADIUS_AT_1AU = 959.63 / 3600;

/** An event that has not happened for this many days is dormant: no next fire. */
const DORMANT_AFTER_DAYS = 366;
const HALF_DAY = DAY / 2;
/** The crossing is located to this (ms) before truncation to whole seconds. */
const PRECISION_MS = 1;
/** Solar days whose event one schedule remembers (a bit over a year of dormant walking). */
const MEMO_DAYS = 400;

export class SolarSchedule {
  readonly #target: Target | null;
  readonly #observer: Observer;
  /** Where (ms from a UTC day's start) the search for that solar day's transit starts: 12 h before mean noon. */
  readonly #dayStartOffset: number;
  /** Solar day → its event (null: none), oldest first; at most MEMO_DAYS entries. */
  readonly #memo = new Map<number, number | null>();

  constructor(
    readonly event: SolarEvent,
    readonly latitude: number,
    readonly longitude: number,
  ) {
    this.#target = event === 'solar_noon' ? null : TARGETS[event];
    this.#observer = new Observer(latitude, longitude, 0);
    this.#dayStartOffset = -Math.round((longitude / 360) * DAY);
  }

  /** The next event strictly after `after`, or null when it does not occur within a year (dormant). */
  next(after: number): number | null {
    // At a pole the sun has no hour angle and does not rise or set in a day; PyEphem (Celery)
    // never finds these events there, and neither do we.
    if (this.#target !== null && Math.abs(this.latitude) >= 90) return null;
    // Walk solar days (noon to noon) from the one before `after`'s. Each day's event lies in that
    // day's own half-day window and the windows follow one another, so the first event after
    // `after` is the answer. Day k's transit is searched from a fixed instant (12 h before its
    // mean noon), so an event is the same to the millisecond whatever `after` asked for it.
    const horizon = after + DORMANT_AFTER_DAYS * DAY;
    const first = Math.floor((after - this.#dayStartOffset) / DAY) - 1;
    for (let k = first; (k - 1) * DAY + this.#dayStartOffset <= horizon; k++) {
      const at = this.#eventOfDay(k);
      if (at !== null && at > after) return at <= horizon ? at : null;
    }
    return null;
  }

  /** The transit (solar noon) of solar day k, in milliseconds. */
  #transit(k: number): number {
    const start = new Date(k * DAY + this.#dayStartOffset);
    return SearchHourAngle(Body.Sun, this.#observer, 0, start).time.date.getTime();
  }

  /** The anti-transit (solar midnight) following an instant, in milliseconds. */
  #antiTransitAfter(instant: number): number {
    return SearchHourAngle(Body.Sun, this.#observer, 12, new Date(instant)).time.date.getTime();
  }

  /** Degrees by which the sun stands above the event's altitude at an instant. */
  #height(target: Target, instant: number): number {
    const date = new Date(instant);
    const sun = Equator(Body.Sun, date, this.#observer, true, true);
    const { altitude } = Horizon(date, this.#observer, sun.ra, sun.dec);
    const altitudeOfCentre = target.upperLimb
      ? target.horizon - SUN_RADIUS_AT_1AU / sun.dist
      : target.horizon;
    return altitude - altitudeOfCentre;
  }

  /**
   * The event of solar day k, memoised: a day's event is a pure function of k, each next() looks at
   * two or three days, and rows with the same spec share one compiled schedule (src/model/validate.ts),
   * so the leader asking again for the same days costs a Map hit instead of ~30 solar positions.
   */
  #eventOfDay(k: number): number | null {
    const memo = this.#memo.get(k);
    if (memo !== undefined) return memo;
    const at = this.#computeEventOfDay(k);
    if (this.#memo.size >= MEMO_DAYS) this.#memo.delete(this.#memo.keys().next().value as number);
    this.#memo.set(k, at);
    return at;
  }

  /** The event of solar day k, truncated to whole seconds, or null if that day has none. */
  #computeEventOfDay(k: number): number | null {
    const noon = this.#transit(k);
    const target = this.#target;
    if (target === null) return Math.floor(noon / SECOND) * SECOND;
    // Rising: the sun climbs from its lowest (solar midnight) to its highest (noon), so it crosses
    // the altitude in between iff it is below it at midnight and at or above it at noon; setting
    // mirrors that from noon to the next midnight.
    const lo = target.rising ? this.#antiTransitAfter(noon - DAY + HALF_DAY / 2) : noon;
    const hi = target.rising ? noon : this.#antiTransitAfter(noon + HALF_DAY / 2);
    const crossing = findCrossing((t) => this.#height(target, t), lo, hi);
    return crossing === null ? null : Math.floor(crossing / SECOND) * SECOND;
  }
}

/**
 * The instant in (lo, hi] where `f` changes sign, or null when f(lo) and f(hi) are on the same
 * side (f ≥ 0 counts as above). Illinois false position: bracketed like bisection, but converging
 * in a handful of evaluations on the smooth altitude curve.
 */
function findCrossing(f: (t: number) => number, lo: number, hi: number): number | null {
  let fLo = f(lo);
  let fHi = f(hi);
  if (fLo >= 0 === fHi >= 0) return null;
  let side = 0;
  for (let i = 0; i < 100 && hi - lo > PRECISION_MS; i++) {
    let mid = Math.round((lo * fHi - hi * fLo) / (fHi - fLo));
    // Keep the probe strictly inside the bracket, and bisect when false position stalls.
    if (!(mid > lo && mid < hi) || i % 8 === 7) mid = Math.floor((lo + hi) / 2);
    const fMid = f(mid);
    if (fMid >= 0 === fLo >= 0) {
      lo = mid;
      fLo = fMid;
      if (side === -1) fHi /= 2;
      side = -1;
    } else {
      hi = mid;
      fHi = fMid;
      if (side === 1) fLo /= 2;
      side = 1;
    }
  }
  return hi;
}
