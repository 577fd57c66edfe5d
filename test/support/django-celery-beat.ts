/**
 * django-celery-beat for the import tests: Debian's python3-django-celery-beat 2.4 (Django 3.2,
 * psycopg2) run with /usr/bin/python3 against a test database. Django's own migrations create its
 * tables, periodic tasks are added through its ORM, and celery beat's own scheduler entry
 * (`django_celery_beat.schedulers.ModelEntry`) says when it would run each one. When the packages are
 * missing the setup installs them if it can (root on Debian), and otherwise fails saying what to
 * install — it never skips.
 */
import { spawnSync } from 'node:child_process';
import { PYTHON, requirePythonModules } from './debian-python.ts';

const SCRIPT = `
import json, sys
from datetime import datetime, timezone
from urllib.parse import urlparse

import django
from django.conf import settings

url = urlparse(sys.argv[1])
settings.configure(
    USE_TZ=True, TIME_ZONE='UTC', INSTALLED_APPS=['django_celery_beat'],
    DATABASES={'default': {
        'ENGINE': 'django.db.backends.postgresql', 'NAME': url.path.lstrip('/'),
        'USER': url.username or 'postgres', 'PASSWORD': url.password or '',
        'HOST': url.hostname or '127.0.0.1', 'PORT': url.port or 5432,
    }},
)
django.setup()

from django.core.management import call_command
from django_celery_beat.models import (ClockedSchedule, CrontabSchedule, IntervalSchedule,
                                       PeriodicTask, SolarSchedule)


def instant(text):
    return datetime.fromisoformat(text.replace('Z', '+00:00')) if text else None


def schedule_of(spec):
    if 'interval' in spec:
        obj, _ = IntervalSchedule.objects.get_or_create(**spec['interval'])
        return {'interval': obj}
    if 'crontab' in spec:
        obj, _ = CrontabSchedule.objects.get_or_create(**spec['crontab'])
        return {'crontab': obj}
    if 'solar' in spec:
        obj, _ = SolarSchedule.objects.get_or_create(**spec['solar'])
        return {'solar': obj}
    obj, _ = ClockedSchedule.objects.get_or_create(clocked_time=instant(spec['clocked']))
    return {'clocked': obj}


def add(specs):
    for spec in specs:
        fields = {k: v for k, v in spec.items() if k not in ('interval', 'crontab', 'solar', 'clocked', 'last_run_at', 'start_time', 'expires')}
        for key in ('args', 'kwargs', 'headers'):
            if key in fields and not isinstance(fields[key], str):  # a string is the column's text
                fields[key] = json.dumps(fields[key])
        task = PeriodicTask(start_time=instant(spec.get('start_time')), expires=instant(spec.get('expires')),
                            **schedule_of(spec), **fields)
        task.save()
        if spec.get('last_run_at'):
            # After save(): Django's admin never sets it; celery beat's scheduler writes it this way.
            PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=instant(spec['last_run_at']))
    return {'added': len(specs)}


def update(changes):
    for name, fields in changes.items():
        task = PeriodicTask.objects.get(name=name)
        for key, value in fields.items():
            if key in ('args', 'kwargs', 'headers') and not isinstance(value, str):
                value = json.dumps(value)
            if key in ('last_run_at', 'start_time', 'expires'):
                value = instant(value)
            setattr(task, key, value)
        task.save()
    return {'updated': len(changes)}


def celery_next(request):
    """When celery beat's DatabaseScheduler would next send each task: ModelEntry.is_due() at AT.

    AT (an ISO instant) freezes every clock Celery and django-celery-beat read, so the answer does
    not depend on how long the test took to get here; without it, now."""
    from celery import Celery
    from django_celery_beat import models, tzcrontab
    from django_celery_beat.schedulers import ModelEntry
    names, at = (request, None) if isinstance(request, list) else (request['names'], request.get('at'))
    app = Celery('metronome-test', set_as_current=True)
    app.conf.timezone = 'UTC'
    frozen = instant(at)
    if frozen is not None:
        models.now = lambda: frozen
        tzcrontab.TzAwareCrontab.nowfunc = lambda self: frozen.astimezone(self.tz)
        ModelEntry._default_now = lambda self: frozen.astimezone(self.app.timezone)
        app.now = lambda: frozen.astimezone(app.timezone)
    out = {}
    for name in names:
        model = PeriodicTask.objects.get(name=name)
        entry = ModelEntry(model, app=app)
        now = frozen or datetime.now(timezone.utc)
        due, seconds = entry.is_due()
        out[name] = {'now': now.isoformat(), 'due': bool(due), 'seconds': seconds}
    return out


command = sys.argv[2]
if command == 'migrate':
    call_command('migrate', 'django_celery_beat', verbosity=0)
    result = {'migrated': True}
elif command == 'add':
    result = add(json.load(sys.stdin))
elif command == 'update':
    result = update(json.load(sys.stdin))
elif command == 'delete':
    result = {'deleted': PeriodicTask.objects.filter(name__in=json.load(sys.stdin)).delete()[0]}
elif command == 'celery-next':
    result = celery_next(json.load(sys.stdin))
print(json.dumps(result))
`;

/** Make sure /usr/bin/python3 has django-celery-beat and psycopg2; install them on Debian as root, else fail. */
export function requireDjangoCeleryBeat(): void {
  requirePythonModules({
    modules: ['django', 'django_celery_beat', 'psycopg2', 'celery'],
    packages: ['python3-django-celery-beat', 'python3-psycopg2'],
    why: 'these tests need django-celery-beat',
  });
}

/** Run one command of the Django script against the database at `url`. */
export function django<T>(url: string, command: string, input: unknown = null): T {
  requireDjangoCeleryBeat();
  const r = spawnSync(PYTHON, ['-c', SCRIPT, url, command], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: '', PYTHONDONTWRITEBYTECODE: '1' },
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`django ${command} failed: ${r.stderr || r.error}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as T;
}

export interface PeriodicTaskSpec {
  name: string;
  task: string;
  interval?: { every: number; period: 'days' | 'hours' | 'minutes' | 'seconds' | 'microseconds' };
  crontab?: {
    minute?: string;
    hour?: string;
    day_of_week?: string;
    day_of_month?: string;
    month_of_year?: string;
    timezone?: string;
  };
  solar?: { event: string; latitude: number; longitude: number };
  clocked?: string;
  /** A string is the column's JSON text as it is (numbers JavaScript cannot hold). */
  args?: unknown[] | string;
  kwargs?: Record<string, unknown> | string;
  headers?: Record<string, unknown> | string;
  queue?: string;
  exchange?: string;
  routing_key?: string;
  priority?: number;
  expire_seconds?: number;
  expires?: string;
  one_off?: boolean;
  start_time?: string;
  enabled?: boolean;
  last_run_at?: string;
  total_run_count?: number;
  description?: string;
}

/** What celery beat's DatabaseScheduler says about each task now: due, or seconds until it is. */
export interface CeleryNext {
  now: string;
  due: boolean;
  seconds: number;
}
