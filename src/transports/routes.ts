/**
 * Routing like Celery's `task_routes`: glob patterns on the task name (fnmatch: `*`, `?`, `[seq]`,
 * `[!seq]`), tried in declaration order, first match wins. The schedule's own queue wins over all.
 */

export interface Route {
  pattern: string;
  regex: RegExp;
  queue: string;
  routingKey: string | null;
}

export interface ResolvedRoute {
  queue: string;
  routingKey: string | null;
}

/** Python's fnmatch.translate, enough of it: `*` any run (dots too), `?` one char, `[...]` a set. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) {
        out += '\\[';
        continue;
      }
      let set = glob.slice(i + 1, close).replace(/\\/g, '\\\\');
      if (set.startsWith('!')) set = `^${set.slice(1)}`;
      out += `[${set}]`;
      i = close;
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 's');
}

/** Parses METRONOME_TASK_ROUTES: `{"pattern": "queue" | {"queue": "...", "routing_key": "..."}}`. */
export function parseRoutes(text: string): Route[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`is not valid JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(
      'must be a JSON object of glob pattern → queue, e.g. {"reports.*": "reports", "billing.*": {"queue": "billing"}}',
    );
  }
  const routes: Route[] = [];
  for (const [pattern, target] of Object.entries(value as Record<string, unknown>)) {
    if (pattern.length === 0) throw new Error('has an empty pattern');
    if (typeof target === 'string') {
      if (!target) throw new Error(`routes "${pattern}" to an empty queue name`);
      routes.push({ pattern, regex: globToRegExp(pattern), queue: target, routingKey: null });
      continue;
    }
    if (target === null || typeof target !== 'object' || Array.isArray(target)) {
      throw new Error(`"${pattern}" must map to a queue name or to {"queue": "...", "routing_key": "..."}`);
    }
    const { queue, routing_key: routingKey, ...rest } = target as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) {
      throw new Error(`"${pattern}" has unknown key(s) ${unknown.join(', ')}: use "queue" and "routing_key"`);
    }
    if (typeof queue !== 'string' || !queue) throw new Error(`"${pattern}" needs a non-empty "queue"`);
    if (routingKey !== undefined && routingKey !== null && typeof routingKey !== 'string') {
      throw new Error(`"${pattern}": "routing_key" must be a string`);
    }
    routes.push({
      pattern,
      regex: globToRegExp(pattern),
      queue,
      routingKey: (routingKey as string | null | undefined) ?? null,
    });
  }
  return routes;
}

/** The queue for a task: the schedule's own queue, else the first matching route, else the default. */
export function resolveRoute(
  task: string,
  own: { queue: string | null; routingKey: string | null },
  routes: readonly Route[],
  defaultQueue: string,
): ResolvedRoute {
  if (own.queue) return { queue: own.queue, routingKey: own.routingKey };
  for (const route of routes) {
    if (route.regex.test(task)) return { queue: route.queue, routingKey: own.routingKey ?? route.routingKey };
  }
  return { queue: defaultQueue, routingKey: own.routingKey };
}
