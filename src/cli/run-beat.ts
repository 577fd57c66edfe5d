/**
 * What `beat` / `beat run` does (loaded only by that command: it pulls in the drivers, the
 * transports and the metrics). With nothing configured this is the embedded default —
 * PGlite in .metronome/, an in-process run lock, the `log` transport, and the declarations in
 * schedules/ synced at start. SIGTERM or SIGINT hands leadership over and exits 0.
 */
import { existsSync, readdirSync } from 'node:fs';
import { BeatMetrics } from '../beat/metrics.ts';
import { Presence } from '../beat/presence.ts';
import { Beat } from '../beat/runtime.ts';
import { loadRuntimeSettings, type RuntimeSettings } from '../beat/settings.ts';
import { declarationTimeoutMs, isLoopback, loadAlertSettings, loadConfig } from '../config.ts';
import { DataDirLockedError } from '../db/data-dir-lock.ts';
import { type Database, DatabaseConnectError, openDatabase } from '../db/database.ts';
import { unpatchedDriverWarning } from '../db/driver-patch.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { formatProblem, loadDeclarations } from '../declare/load.ts';
import { SyncProblemsError, syncDeclarations, validateDeclarations } from '../declare/sync.ts';
import { apiReadsFrom, apiTokenFrom, type ReadAccess } from '../http/api/guard.ts';
import type { Dashboard } from '../http/app.ts';
import { HttpBindError, type HttpOptions, parseBind, startHttpServer } from '../http/server.ts';
import { createRunLocks, type RunLocks } from '../locks/index.ts';
import { createLogger, type Logger, redactSecrets } from '../logger.ts';
import { cliActor } from '../operate/actor.ts';
import { checkTransportConfig, createTransport, TransportConfigError } from '../transports/index.ts';
import { configValue } from './database.ts';
import { CliError } from './errors.ts';

export async function runBeat(): Promise<void> {
  // All configuration first, the transport's included: nothing is opened or written on a mistake.
  const config = configValue(() => loadConfig());
  const settings = configValue(() => loadRuntimeSettings());
  const alerts = configValue(() => loadAlertSettings());
  const declarationTimeout = configValue(() => declarationTimeoutMs());
  const apiToken = configValue(() => apiTokenFrom(process.env));
  const apiReads = configValue(() => apiReadsFrom(process.env, settings.http));
  try {
    checkTransportConfig(process.env);
  } catch (error) {
    if (error instanceof TransportConfigError) throw new CliError(error.message, 2);
    throw error;
  }
  const log = createLogger({ level: config.logLevel });
  // Listened for before anything starts: a SIGTERM during start-up (a pod deleted as it starts)
  // is a clean stop once the start finishes, never the default action's death by the signal.
  const stopRequested = untilSignal(log);
  const closers: Array<() => Promise<unknown>> = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  };
  const metrics = new BeatMetrics();
  let beat: Beat | undefined;
  let dashboard: Dashboard | undefined;
  try {
    // Listening comes before the database, so a port in use is refused before anything is written;
    // the dashboard joins once the database is open.
    const httpAddress =
      settings.http === 'off'
        ? null
        : await listen(settings, { token: apiToken, reads: apiReads }, log, closers, {
            metrics,
            readiness: () => beat?.readiness() ?? { ready: false, role: 'starting', reasons: ['starting'] },
            liveness: () => beat?.liveness() ?? { live: true, reasons: [] },
            routes: (req, res) => dashboard?.handle(req, res) ?? false,
          });
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    closers.push(() => database.close());
    const migrations = await migrateDatabase(database);
    log.info({ database: database.target, applied: migrations }, 'database ready');
    const driverWarning = database.kind === 'postgres' ? unpatchedDriverWarning() : null;
    if (driverWarning) log.warn(driverWarning);
    await syncOnStart(database, settings, declarationTimeout, log);

    // The lease gets a connection of its own (one: standbys watch its session to see a crash).
    const leaseDb =
      database.kind === 'postgres'
        ? await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 })
        : database;
    if (leaseDb !== database) closers.push(() => leaseDb.close());
    const locks = createRunLocks({ redisUrls: settings.lockRedisUrls, prefix: settings.lockPrefix });
    closers.push(() => locks.close());
    let transport: Awaited<ReturnType<typeof createTransport>>;
    try {
      transport = await createTransport(process.env, log);
    } catch (error) {
      if (error instanceof TransportConfigError) throw new CliError(error.message, 2);
      throw error;
    }
    closers.push(() => transport.close());
    const running = new Beat({
      database,
      leaseConnection: leaseDb,
      transport,
      locks,
      log,
      metrics,
      group: settings.group,
      leaseTtlMs: settings.leaseTtlMs,
      graceMs: settings.graceMs,
      batchSize: settings.batchSize,
      claimAheadMs: settings.claimAheadMs,
      catchupRatePerSecond: settings.catchupRatePerSecond,
      reconcileMs: settings.reconcileMs,
      book: { horizonMs: settings.horizonMs },
      trackMs: settings.trackMs,
      maxSleepMs: 1_000,
      maxRunHoldMs: settings.maxRunHoldMs,
      stallMs: settings.livenessTimeoutMs,
      stopTimeoutMs: settings.stopTimeoutMs / 2,
      prune: {
        maxAgeMs: settings.historyRetentionMs,
        perSchedule: settings.historyPerSchedule,
        intervalMs: settings.pruneIntervalMs,
      },
      alerts,
    });
    beat = running;
    if (httpAddress !== null) {
      const started = await startDashboard(database, config, { settings, locks, apiToken, apiReads, log });
      closers.push(() => started.close());
      dashboard = started;
    }
    const presence = new Presence({
      database,
      id: running.holderId,
      group: settings.group,
      http: httpAddress,
      role: () => running.readiness().role,
      log,
    });
    log.info(
      {
        holder: running.holderId,
        group: settings.group,
        transport: transport.name,
        locks: settings.lockRedisUrls.length === 0 ? 'in-process' : settings.lockRedisUrls.map(redactSecrets),
        leaseTtlMs: settings.leaseTtlMs,
      },
      'beat starting',
    );
    await running.start();
    await presence.start();
    closers.push(() => presence.stop());
    await stopRequested;
    exitAfter(settings.stopTimeoutMs, log);
    await running.stop();
    log.info('stopped');
  } catch (error) {
    if (error instanceof HttpBindError) throw new CliError(error.message, 2);
    if (error instanceof DatabaseConnectError || error instanceof DataDirLockedError) {
      await closeAll();
      throw new CliError(error.message, 1);
    }
    throw error;
  } finally {
    await closeAll();
  }
}

/**
 * The HTTP server: the dashboard and API (once the database is open), /healthz, /readyz, /metrics.
 * Returns the address it listens on. Bound to anything but loopback, it says who may read (the
 * API's changes always need the token; reads need it unless METRONOME_API_READS=open), and warns
 * when reads are open to anyone who reaches the port.
 */
async function listen(
  settings: RuntimeSettings,
  access: { token: string | undefined; reads: ReadAccess },
  log: Logger,
  closers: Array<() => Promise<unknown>>,
  handlers: Pick<HttpOptions, 'metrics' | 'readiness' | 'liveness' | 'routes'>,
): Promise<string> {
  const { server, url } = await startHttpServer({
    bind: settings.http,
    stallMs: settings.livenessTimeoutMs,
    ...handlers,
  });
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  log.info(
    {
      dashboard: `${url}/`,
      changes: access.token ? 'with METRONOME_API_TOKEN' : 'read-only',
      reads: access.reads === 'open' ? 'open' : 'with METRONOME_API_TOKEN',
    },
    'serving the dashboard (/) and the API (/api/v1), /healthz, /readyz and /metrics',
  );
  const { host } = parseBind(settings.http);
  if (!isLoopback(host)) {
    log.warn(
      { bind: settings.http },
      'the HTTP endpoints (/healthz, /readyz, /metrics) listen on a non-loopback address and answer anyone who can reach it; bind them to 127.0.0.1 unless that is intended',
    );
    if (access.reads === 'open') {
      log.warn(
        { bind: settings.http },
        "METRONOME_API_READS=open: the dashboard and the API serve every schedule's arguments and the audit log to anyone who can reach this address; unset it to ask for METRONOME_API_TOKEN",
      );
    } else {
      log.info(
        { bind: settings.http },
        access.token
          ? 'the dashboard and API reads need METRONOME_API_TOKEN (a browser asks: any user name, the token as the password)'
          : 'the dashboard and API reads need METRONOME_API_TOKEN, and none is set: every read is refused; set one, or METRONOME_API_READS=open',
      );
    }
  }
  return new URL(url).host;
}

/**
 * The dashboard and API, reading on a pool of their own on Postgres, so a busy page never takes a
 * connection the tick needs (PGlite has one connection: they share it).
 */
async function startDashboard(
  database: Database,
  config: ReturnType<typeof loadConfig>,
  o: {
    settings: RuntimeSettings;
    locks: RunLocks;
    apiToken: string | undefined;
    apiReads: ReadAccess;
    log: Logger;
  },
): Promise<Dashboard> {
  // Loaded here, not at the top: the other commands (sync, pause, list...) never pay for it.
  const { createDashboard } = await import('../http/app.ts');
  const reads =
    database.kind === 'postgres'
      ? await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
      : database;
  const dashboard = createDashboard({
    database: reads,
    locks: o.locks,
    group: o.settings.group,
    token: o.apiToken,
    reads: o.apiReads,
    bind: o.settings.http,
    log: o.log,
  });
  return {
    handle: dashboard.handle,
    close: async () => {
      await dashboard.close();
      if (reads !== database) await reads.close();
    },
  };
}

/** Sync schedules/*.ts at start: always with true, never with false, when the folder has files with auto. */
async function syncOnStart(
  database: Database,
  settings: RuntimeSettings,
  timeoutMs: number,
  log: Logger,
): Promise<void> {
  const dir = settings.schedulesDir;
  const hasFiles = existsSync(dir) && readdirSync(dir).some((f) => /\.(ts|mts|js|mjs)$/.test(f));
  if (settings.syncOnStart === 'false' || (settings.syncOnStart === 'auto' && !hasFiles)) return;
  const {
    found,
    calendars: foundCalendars,
    problems: loadProblems,
  } = await loadDeclarations(dir, undefined, {
    timeoutMs,
  });
  const { valid, calendars, problems } = validateDeclarations(found, Date.now(), foundCalendars);
  const all = [...loadProblems, ...problems];
  try {
    if (all.length > 0) throw new SyncProblemsError(all);
    const result = await syncDeclarations(database, valid, { prune: false, actor: cliActor(), calendars });
    const changed = result.plan.filter((p) => p.action === 'create' || p.action === 'update').length;
    log.info({ dir, declarations: valid.length, changed }, 'synced schedules at start');
  } catch (error) {
    if (error instanceof SyncProblemsError) {
      throw new CliError(
        `the declarations in ${dir}/ have ${error.problems.length} problem(s); fix them or set METRONOME_SYNC_ON_START=false:\n${error.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`,
        2,
      );
    }
    throw error;
  }
}

/**
 * The shutdown's hard bound: whatever still hangs (a stuck broker call, a connection that will not
 * close) does not keep the process past `ms`, so it exits inside the pod's grace period. Unref'd: a
 * clean shutdown exits sooner without waiting for it.
 */
function exitAfter(ms: number, log: Logger): void {
  setTimeout(() => {
    log.error({ stopTimeoutMs: ms }, 'shutdown did not finish within METRONOME_STOP_TIMEOUT; exiting now');
    process.exit(1);
  }, ms).unref();
}

/** Resolve on the first SIGTERM or SIGINT; a second one exits at once. */
function untilSignal(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      received = true;
      log.info({ signal }, 'stopping: handing leadership over');
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
