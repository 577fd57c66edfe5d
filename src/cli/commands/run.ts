/**
 * `beat` / `beat run`: run the scheduler. With nothing configured this is the embedded default —
 * PGlite in .metronome/, an in-process run lock, the `log` transport, and the declarations in
 * schedules/ synced at start. SIGTERM or SIGINT hands leadership over and exits 0.
 */
import { existsSync, readdirSync } from 'node:fs';
import type { Command } from 'commander';
import { Beat } from '../../beat/runtime.ts';
import { loadRuntimeSettings, type RuntimeSettings } from '../../beat/settings.ts';
import { ConfigError, isLoopback, loadConfig } from '../../config.ts';
import { DataDirLockedError } from '../../db/data-dir-lock.ts';
import { type Database, DatabaseConnectError, openDatabase } from '../../db/database.ts';
import { migrateDatabase } from '../../db/migrate.ts';
import { formatProblem, loadDeclarations } from '../../declare/load.ts';
import { SyncProblemsError, syncDeclarations, validateDeclarations } from '../../declare/sync.ts';
import { BeatMetrics } from '../../http/metrics.ts';
import { HttpBindError, parseBind, startHttpServer } from '../../http/server.ts';
import { createRunLocks } from '../../locks/index.ts';
import { createLogger, type Logger, redactSecrets } from '../../logger.ts';
import { checkTransportConfig, createTransport, TransportConfigError } from '../../transports/index.ts';
import { CliError } from '../errors.ts';

export function registerRun(program: Command): void {
  program
    .command('run', { isDefault: true })
    .description('run the beat (the default command): stand by, lead when elected, fire schedules')
    .action(async () => {
      await runBeat();
    });
}

async function runBeat(): Promise<void> {
  let settings: RuntimeSettings;
  let config: ReturnType<typeof loadConfig>;
  try {
    // All configuration first, the transport's included: nothing is opened or written on a mistake.
    config = loadConfig();
    settings = loadRuntimeSettings();
    checkTransportConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof TransportConfigError)
      throw new CliError(error.message, 2);
    throw error;
  }
  const log = createLogger({ level: config.logLevel });
  const closers: Array<() => Promise<unknown>> = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  };
  const metrics = new BeatMetrics();
  let beat: Beat | undefined;
  try {
    // Listening comes before the database, so a port in use is refused before anything is written.
    if (settings.http !== 'off') {
      const { server, url } = await startHttpServer({
        bind: settings.http,
        metrics,
        readiness: () => beat?.readiness() ?? { ready: false, role: 'starting', reasons: ['starting'] },
      });
      closers.push(() => new Promise((resolve) => server.close(resolve)));
      log.info({ url }, 'serving /healthz, /readyz and /metrics');
      const { host } = parseBind(settings.http);
      if (!isLoopback(host)) {
        log.warn(
          { bind: settings.http },
          'the HTTP endpoints (/healthz, /readyz, /metrics) listen on a non-loopback address and answer anyone who can reach it; bind them to 127.0.0.1 unless that is intended',
        );
      }
    }
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    closers.push(() => database.close());
    const migrations = await migrateDatabase(database);
    log.info({ database: database.target, applied: migrations }, 'database ready');
    await syncOnStart(database, settings, log);

    // Lease renewals get their own connection(s), so a busy pool never delays them.
    const leaseDb =
      database.kind === 'postgres'
        ? await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
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
    beat = new Beat({
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
      prune: {
        maxAgeMs: settings.historyRetentionMs,
        perSchedule: settings.historyPerSchedule,
        intervalMs: settings.pruneIntervalMs,
      },
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
    await untilSignal(log);
    await beat.stop();
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

/** Sync schedules/*.ts at start: always with true, never with false, when the folder has files with auto. */
async function syncOnStart(database: Database, settings: RuntimeSettings, log: Logger): Promise<void> {
  const dir = settings.schedulesDir;
  const hasFiles = existsSync(dir) && readdirSync(dir).some((f) => /\.(ts|mts|js|mjs)$/.test(f));
  if (settings.syncOnStart === 'false' || (settings.syncOnStart === 'auto' && !hasFiles)) return;
  const { found, problems: loadProblems } = await loadDeclarations(dir);
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
