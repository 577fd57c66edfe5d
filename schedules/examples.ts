/**
 * Example declarations (interval, solar, one-off). `tasks.add` is the task of Celery's tutorial:
 * with a worker running it, each fire prints 5.
 */
import { clocked, defineSchedule, every, solar } from 'metronome';

/** Every 30 seconds on a fixed grid (:00 and :30), so a newcomer sees it fire within a minute. */
export const add = defineSchedule({
  name: 'tasks.add',
  task: 'tasks.add',
  schedule: every('30s'),
  args: [2, 3],
  catchup: 'skip',
});

/** At sunset in Berlin, whatever the date (a solar schedule follows the season). */
export const lights = defineSchedule({
  name: 'home.lights_on',
  task: 'home.tasks.lights_on',
  schedule: solar('sunset', 52.52, 13.405),
  kwargs: { room: 'porch' },
});

/** One run at an instant, then done: here the first of January 2030, 09:00 UTC. */
export const launch = defineSchedule({
  name: 'marketing.launch_email',
  task: 'marketing.tasks.send_launch_email',
  schedule: clocked('2030-01-01T09:00:00Z'),
  priority: 9,
});
