/**
 * What `beat` / `beat run` does (loaded only by that command: it pulls in the drivers, the
 * transports and the metrics). With nothing configured this is the embedded default —
 * PGlite in .metronome/, an in-process run lock, the `log` transport, and the declarations in
 * schedules/ synced at start. SIGTERM or SIGINT hands leadership over and exits 0.
 */
import { existsSync, readdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { BeatMetrics } from '../beat/metrics.ts';
import { Presence } from '../beat/presence.ts';
import { Beat } from '../beat/runtime.ts';
import { loadRuntimeSettings, type RuntimeSettings } from '../beat/settings.ts';
import { declarationTimeoutMs, loadConfig } from '../config.ts';
import { DataDirLockedError } from '../db/data-dir-lock.ts';
import { type Database, DatabaseConnectError, openDatabase } from '../db/database.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { formatProblem, loadDeclarations } from '../declare/load.ts';
import { SyncProblemsError, syncDeclarations, validateDeclarations } from '../declare/sync.ts';
import { apiTokenFrom } from '../http/api/guard.ts';
import type { Dashboard } from '../http/app.ts';
import { startHttpServer } from '../http/server.ts';
import { createRunLocks, type RunLocks } from '../locks/index.ts';
import { createLogger, type Logger, redactSecrets } from '../logger.ts';
import { createTransport, TransportConfigError } from '../transports/index.ts';
import { configValue } from './database.ts';
import { CliError } from './errors.ts';

export async function runBeat(): Promise<void> {
  const config = configValue(() => loadConfig());
  const settings = configValue(() => loadRuntimeSettings());
  const declarationTimeout = configValue(() => declarationTimeoutMs());
  const apiToken = configValue(() => apiTokenFrom(process.env));
  const log = createLogger({ level: config.logLevel });
  const closers: Array<() => Promise<unknown>> = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  };
  try {
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    closers.push(() => database.close());
    const migrations = await migrateDatabase(database);
    log.info({ database: database.target, applied: migrations }, 'database ready');
    await syncOnStart(database, settings, declarationTimeout, log);

    // Lease renewals get their own connection(s), so a busy pool never delays them.
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
    const metrics = new BeatMetrics();
    const beat = new Beat({
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
      catchupRatePerSecond: settings.catchupRatePerSecond,
      reconcileMs: settings.reconcileMs,
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
    });
    let httpAddress: string | null = null;
    if (settings.http !== 'off') {
      const dashboard = await startDashboard(database, config, { settings, locks, apiToken, log });
      let server: Server | undefined;
      // The live streams end first: an HTTP server does not finish closing while they are open.
      closers.push(async () => {
        await dashboard.close();
        await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      });
      const started = await startHttpServer({
        bind: settings.http,
        metrics,
        readiness: () => beat.readiness(),
        liveness: () => beat.liveness(),
        stallMs: settings.livenessTimeoutMs,
        routes: dashboard.handle,
      });
      server = started.server;
      const { url } = started;
      httpAddress = new URL(url).host;
      log.info(
        { dashboard: `${url}/`, changes: apiToken ? 'with METRONOME_API_TOKEN' : 'read-only' },
        'serving the dashboard (/) and the API (/api/v1), /healthz, /readyz and /metrics',
      );
    }
    const presence = new Presence({
      database,
      id: beat.holderId,
      group: settings.group,
      http: httpAddress,
      role: () => beat.readiness().role,
      log,
    });
    log.info(
      {
        holder: beat.holderId,
        group: settings.group,
        transport: transport.name,
        locks: settings.lockRedisUrls.length === 0 ? 'in-process' : settings.lockRedisUrls.map(redactSecrets),
        leaseTtlMs: settings.leaseTtlMs,
      },
      'beat starting',
    );
    await beat.start();
    await presence.start();
    closers.push(() => presence.stop());
    await untilSignal(log);
    exitAfter(settings.stopTimeoutMs, log);
    await beat.stop();
    log.info('stopped');
  } catch (error) {
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
 * The dashboard and API, reading on a pool of their own on Postgres, so a busy page never takes a
 * connection the tick needs (PGlite has one connection: they share it).
 */
async function startDashboard(
  database: Database,
  config: ReturnType<typeof loadConfig>,
  o: { settings: RuntimeSettings; locks: RunLocks; apiToken: string | undefined; log: Logger },
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
  const { found, problems: loadProblems } = await loadDeclarations(dir, undefined, { timeoutMs });
  const { valid, problems } = validateDeclarations(found, Date.now());
  const all = [...loadProblems, ...problems];
  try {
    if (all.length > 0) throw new SyncProblemsError(all);
    const result = await syncDeclarations(database, valid, { prune: false });
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
