"""Read a Celery app's `beat_schedule` for `beat import celery` (docs/migrating.md).

    python3 metronome_celery.py dump  APP [--schedule-file PATH]
    python3 metronome_celery.py times APP < {"from": ISO, "entries": [{"name": ..., "segments": [[ISO, ISO], ...]}]}

APP is what `celery -A` takes (`proj.celery:app`, `proj`), found with Celery's own `find_app`, with
the working directory on the import path. `dump` prints one JSON document describing every entry the
way celery beat would run it: the schedule as Celery expanded it (crontab value sets, interval
seconds, solar event and place), the zone its `now()` answers in, `args`/`kwargs` exactly as the
JSON serializer would send them (as JSON text, so no number is rounded on the way), the options, and, from celery beat's schedule file when given, each
entry's last run. `times` prints, per entry, the instants celery beat would send it in each segment
(metronome_beatsim.py). A failure prints {"error": "..."} and exits with status 3.
"""

import json
import os
import shelve
import sys
import traceback
from datetime import datetime, timedelta

from metronome_beatsim import UTC, clock_like, iso, replay, simulate


# The answer goes to the real stdout; anything the user's code prints goes to stderr instead.
OUT = sys.stdout
sys.stdout = sys.stderr


class ImportFailure(Exception):
    pass


def fail(message):
    OUT.write(json.dumps({'error': message}) + '\n')
    sys.exit(3)


def one_line(exc):
    text = f'{type(exc).__name__}: {exc}'.strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_app(spec):
    sys.path.insert(0, os.getcwd())
    try:
        from celery.app.utils import find_app
    except Exception as exc:  # noqa: BLE001 - any failure is the user's environment
        raise ImportFailure(f'this Python cannot import celery ({one_line(exc)}); pass --python with the interpreter your Celery app runs under')
    try:
        app = find_app(spec)
    except Exception as exc:  # noqa: BLE001
        raise ImportFailure(f'cannot load the Celery app {spec!r}: {one_line(exc)}')
    from celery import Celery
    if not isinstance(app, Celery):
        raise ImportFailure(f'{spec!r} is a {type(app).__name__}, not a Celery app; pass module:attribute, e.g. proj.celery:app')
    try:
        # What `celery beat` does before reading the schedule: import the task modules (and, with
        # Django, autodiscover), so entries added by on_after_configure/on_after_finalize exist.
        app.loader.import_default_modules()
        app.finalize(auto=True)
        app.set_current()
        _ = app.conf.beat_schedule
    except Exception as exc:  # noqa: BLE001
        raise ImportFailure(f'the Celery app {spec!r} failed while loading its configuration: {one_line(exc)}')
    return app


def zone_name(tz):
    """The IANA name of a tzinfo, or None when it has none."""
    if tz is None:
        return None
    for attribute in ('key', 'zone'):  # zoneinfo, pytz
        name = getattr(tz, attribute, None)
        if isinstance(name, str):
            return name
    if tz is UTC or str(tz) == 'UTC':
        return 'UTC'
    if type(tz).__name__ == 'LocalTimezone':
        return host_zone()
    return None


def host_zone():
    """This host's IANA zone name (Celery's `timezone.local`), from TZ or /etc/localtime."""
    tz = os.environ.get('TZ', '').lstrip(':')
    if tz and '/' in tz or tz == 'UTC':
        return tz
    try:
        target = os.path.realpath('/etc/localtime')
        if 'zoneinfo/' in target:
            return target.split('zoneinfo/', 1)[1].replace('posix/', '').replace('right/', '')
    except OSError:
        pass
    try:
        with open('/etc/timezone') as f:
            return f.read().strip() or None
    except OSError:
        return None


def now_sample(schedule, app):
    """What the schedule's now() returns: its zone is the zone Celery does its wall-clock arithmetic in."""
    try:
        return schedule.now()
    except Exception:  # noqa: BLE001
        return app.now()


def cron_field(orig, values):
    return {
        'orig': orig if isinstance(orig, (str, int)) else None,
        'values': sorted(values),
    }


def known_class(schedule):
    """The schedule's class when it is one whose behaviour Metronome knows, else None.

    Subclasses are not trusted: an app's own class may override is_due() with anything."""
    from celery import schedules
    kind = type(schedule)
    if kind in (schedules.crontab, schedules.schedule, schedules.solar):
        return kind.__name__
    if kind.__module__.startswith('django_celery_beat.') and kind.__name__ in ('TzAwareCrontab', 'clocked'):
        return 'crontab' if kind.__name__ == 'TzAwareCrontab' else 'clocked'
    return None


def describe_schedule(schedule, app):
    kind = known_class(schedule)
    if kind == 'crontab':
        sample = now_sample(schedule, app)
        tz = sample.tzinfo if sample is not None else app.timezone
        # django-celery-beat's TzAwareCrontab carries its own zone.
        own = schedule.__dict__.get('tz')
        if own is not None:
            tz = own
        return {
            'kind': 'crontab',
            'minute': cron_field(schedule._orig_minute, schedule.minute),
            'hour': cron_field(schedule._orig_hour, schedule.hour),
            'dayOfWeek': cron_field(schedule._orig_day_of_week, schedule.day_of_week),
            'dayOfMonth': cron_field(schedule._orig_day_of_month, schedule.day_of_month),
            'monthOfYear': cron_field(schedule._orig_month_of_year, schedule.month_of_year),
            'zone': 'UTC' if sample is not None and sample.tzinfo is None else zone_name(tz),
            'zoneRepr': repr(tz),
            'nowfun': schedule.nowfun is not None and own is None,
        }
    if kind == 'solar':
        return {'kind': 'solar', 'event': schedule.event, 'latitude': float(schedule.lat), 'longitude': float(schedule.lon)}
    if kind == 'schedule':
        sample = now_sample(schedule, app)
        return {
            'kind': 'interval',
            'seconds': schedule.run_every.total_seconds(),
            'relative': bool(schedule.relative),
            'zone': 'UTC' if sample is None or sample.tzinfo is None else zone_name(sample.tzinfo),
        }
    if kind == 'clocked':
        return {'kind': 'clocked', 'at': iso(schedule.clocked_time)}
    cls = type(schedule)
    return {'kind': 'unsupported', 'type': f'{cls.__module__}.{cls.__qualname__}', 'repr': repr(schedule)}


def json_text(value):
    """A value as the JSON serializer sends it (kombu's encoder: dates as ISO strings, and so on).

    Passed on as text, not as part of this document: JavaScript's JSON.parse would round 2**60 and
    turn 1.0 into 1; the importer reads it with an exact parser (src/import/python-json.ts)."""
    from kombu.utils.json import dumps
    return dumps(value)


def option_value(value):
    """An entry option as JSON, with the types that need care tagged."""
    if isinstance(value, datetime):
        return {'$datetime': iso(value if value.tzinfo else value.replace(tzinfo=UTC))}
    if isinstance(value, timedelta):
        return {'$seconds': value.total_seconds()}
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return {'$json': json_text(value)}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    name = getattr(value, 'name', None)  # kombu Queue / Exchange
    if isinstance(name, str) and type(value).__name__ in ('Queue', 'Exchange'):
        return {'$' + type(value).__name__.lower(): name}
    try:
        return {'$json': json_text(value)}
    except Exception:  # noqa: BLE001
        return {'$repr': repr(value)}


def last_runs(path, app):
    """celery beat's schedule file (PersistentScheduler's shelve): each entry's last run and run count."""
    if not path:
        return {}, []
    if not any(os.path.exists(path + suffix) for suffix in ('', '.db', '.dat', '.dir')):
        raise ImportFailure(f'celery beat schedule file {path!r} not found (celery beat -s; default celerybeat-schedule in its working directory)')
    try:
        store = shelve.open(path, flag='r')
    except Exception as exc:  # noqa: BLE001
        raise ImportFailure(f'cannot open celery beat schedule file {path!r}: {one_line(exc)}')
    warnings = []
    try:
        reset = reset_reason(store, app)
        if reset is not None:
            warnings.append(f'the schedule file {reset}: celery beat would reset it, so its last runs are not used')
            return {}, warnings
        runs = {}
        for name, entry in (store.get('entries') or {}).items():
            last = getattr(entry, 'last_run_at', None)
            if isinstance(last, datetime):
                last = last if last.tzinfo else last.replace(tzinfo=UTC)
                runs[name] = {'lastRunAt': iso(last), 'totalRunCount': int(getattr(entry, 'total_run_count', 0) or 0)}
        return runs, warnings
    finally:
        store.close()


def reset_reason(store, app):
    """Why celery beat would clear this schedule file on start (PersistentScheduler.setup_schedule
    and _create_schedule, celery/beat.py), or None when it keeps it."""
    if 'entries' not in store:
        return None  # a new file: nothing to carry over anyway
    for field, since in (('__version__', '2.2.2'), ('tz', '3.0.8'), ('utc_enabled', '3.0.9')):
        if field not in store:
            return f'has no {field} field (written before Celery {since})'
    stored_tz, tz = store.get('tz'), app.conf.timezone
    if stored_tz is not None and stored_tz != tz:
        return f'was written with timezone {stored_tz!r}, the app now has {tz!r}'
    stored_utc, utc = store.get('utc_enabled'), app.conf.enable_utc
    if stored_utc is not None and stored_utc != utc:
        return f'was written with enable_utc {stored_utc!r}, the app now has {utc!r}'
    return None


def default_entries(app):
    """The entry celery beat adds by itself (Scheduler.install_default_entries)."""
    from celery.schedules import crontab
    try:
        if app.conf.result_expires and not app.backend.supports_autoexpire:
            return {'celery.backend_cleanup': {'task': 'celery.backend_cleanup', 'schedule': crontab('0', '4', '*'), 'options': {'expires': 12 * 3600}}}
    except Exception:  # noqa: BLE001 - a backend that cannot be built here: beat would fail itself
        pass
    return {}


def beat_entries(app):
    """The entries as celery beat builds them (ScheduleEntry: number/timedelta -> schedule, relative)."""
    from celery.beat import ScheduleEntry
    schedule = dict(app.conf.beat_schedule or {})
    for name, entry in default_entries(app).items():
        schedule.setdefault(name, entry)
    built = []
    for name, raw in schedule.items():
        if not isinstance(raw, dict):
            built.append((name, raw, None, f'the entry is a {type(raw).__name__}, not a dict'))
            continue
        try:
            fields = {k: v for k, v in raw.items() if k in ('task', 'schedule', 'args', 'kwargs', 'options', 'relative')}
            entry = ScheduleEntry(name=name, app=app, **fields)
            built.append((name, raw, entry, None))
        except Exception as exc:  # noqa: BLE001
            built.append((name, raw, None, one_line(exc)))
    return built


def dump(app, schedule_file):
    runs, warnings = last_runs(schedule_file, app)
    conf = app.conf
    scheduler = str(conf.beat_scheduler or '')
    if 'django' in scheduler.lower() or 'DatabaseScheduler' in scheduler:
        warnings.append(f'beat_scheduler is {scheduler!r}: the schedule celery beat runs lives in django-celery-beat\'s tables; import it with `beat import django-celery-beat`')
    if conf.task_routes:
        warnings.append('the app has task_routes: Metronome does not read them; set METRONOME_TASK_ROUTES (docs/transports.md) so runs reach the same queues')
    if conf.task_default_queue and conf.task_default_queue != 'celery':
        warnings.append(f'task_default_queue is {conf.task_default_queue!r}: set METRONOME_DEFAULT_QUEUE={conf.task_default_queue} (docs/transports.md)')
    entries = []
    defaults = default_entries(app)
    for name, raw, entry, problem in beat_entries(app):
        item = {'name': str(name), 'task': raw.get('task') if isinstance(raw, dict) else None}
        if problem is not None:
            item['problem'] = problem
            entries.append(item)
            continue
        extra = sorted(k for k in raw if k not in ('task', 'schedule', 'args', 'kwargs', 'options', 'relative'))
        try:
            item['argsJson'] = json_text(list(entry.args or ()))
            item['kwargsJson'] = json_text(dict(entry.kwargs or {}))
        except Exception as exc:  # noqa: BLE001
            item['problem'] = f'args/kwargs cannot be sent as JSON: {one_line(exc)}'
            entries.append(item)
            continue
        item['schedule'] = describe_schedule(entry.schedule, app)
        item['options'] = {str(k): option_value(v) for k, v in (entry.options or {}).items()}
        item['unknownKeys'] = extra
        item['default'] = name in defaults and name not in (app.conf.beat_schedule or {})
        run = runs.get(name)
        item['lastRunAt'] = run['lastRunAt'] if run else None
        item['totalRunCount'] = run['totalRunCount'] if run else None
        entries.append(item)
    return {
        'app': {
            'main': app.main,
            'timezone': conf.timezone,
            'enableUtc': bool(conf.enable_utc),
            'zone': zone_name(app.timezone),
            'maxInterval': float(conf.beat_max_loop_interval or 300),
        },
        'entries': entries,
        'warnings': warnings,
    }


def times(app, request):
    built = {name: entry for name, _, entry, problem in beat_entries(app) if problem is None}
    max_interval = float(app.conf.beat_max_loop_interval or 300)
    out = {}
    for wanted in request['entries']:
        entry = built.get(wanted['name'])
        if entry is None:
            out[wanted['name']] = {'error': 'no such entry in beat_schedule'}
            continue
        schedule = entry.schedule
        original = schedule.nowfun
        clock = clock_like(now_sample(schedule, app), app.timezone)
        schedule.nowfun = clock
        try:
            out[wanted['name']] = replay(
                wanted['segments'], lambda start, end: simulate(schedule.is_due, clock, start, end, max_interval)
            )
        except Exception as exc:  # noqa: BLE001 - Celery's own failure is part of the answer
            out[wanted['name']] = {'error': one_line(exc)}
        finally:
            schedule.nowfun = original
    return {'entries': out}


def main(argv):
    if len(argv) < 3 or argv[1] not in ('dump', 'times'):
        fail('usage: metronome_celery.py dump|times APP [--schedule-file PATH]')
    command, spec = argv[1], argv[2]
    schedule_file = argv[argv.index('--schedule-file') + 1] if '--schedule-file' in argv else None
    try:
        app = load_app(spec)
        result = dump(app, schedule_file) if command == 'dump' else times(app, json.load(sys.stdin))
    except ImportFailure as exc:
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001
        fail(f'{one_line(exc)} (in {traceback.extract_tb(exc.__traceback__)[-1].name})')
    OUT.write(json.dumps(result, default=str) + '\n')


if __name__ == '__main__':
    main(sys.argv)
