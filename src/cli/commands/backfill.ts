/**
 * `beat backfill NAME --from T1 --to T2 [--rate N/s] [--dry-run] [--yes] [--json]`, or
 * `beat backfill NAME --cancel`: fire the
 * schedule's slots of a past range. The slots are listed first (with what the ledger already holds
 * at each; a slot already sent is never sent again); without --dry-run the backfill is then
 * recorded, and the elected leader sends it at the rate (src/beat/backfill-runner.ts). It asks
 * nothing of a terminal: a range of more than 1,000 slots needs --yes. Exit 2 for a bad range, an
 * unknown schedule or a missing --yes.
 */
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { print, printJson } from '../output.ts';

interface BackfillOptions {
  from?: string;
  to?: string;
  cancel?: boolean;
  rate?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

/** How many slots the listing shows before eliding (all of them with --json). */
const LISTED = 50;

export function registerBackfill(program: Command): void {
  program
    .command('backfill')
    .description(
      "fire a schedule's slots of a past range, rate-limited, each slot at most once (the leader sends them)",
    )
    .argument('<name>', 'schedule name')
    .option('--from <instant>', 'first instant of the range (ISO 8601 with an offset), inclusive')
    .option('--to <instant>', "last instant of the range, inclusive ('now' for now)")
    .option('--cancel', "cancel the schedule's open backfills (runs already sent go on)")
    .option('--rate <rate>', 'how fast the slots go: N/s or N/m (default 1/s)')
    .option('--dry-run', 'list the slots and what the ledger holds at each; record nothing')
    .option('--yes', 'confirm a range of more than 1000 slots')
    .option('--json', 'print JSON')
    .action(async (name: string, options: BackfillOptions) => {
      const { parseRate } = await import('../../model/backfill.ts');
      const { cancelBackfill, planBackfill, requestBackfill } = await import('../../operate/backfill.ts');
      const { cliActor } = await import('../../operate/actor.ts');
      const { withDatabase } = await import('../database.ts');
      let ratePerSecond: number | undefined;
      try {
        ratePerSecond = options.rate === undefined ? undefined : parseRate(options.rate);
      } catch (error) {
        throw new CliError((error as Error).message);
      }
      if (options.cancel) {
        await withDatabase(async (database) => {
          const cancelled = await cancelBackfill(database, name, cliActor());
          if (options.json) printJson({ name, cancelled: cancelled.map((b) => b.id) });
          else if (cancelled.length === 0) print(`${name}: no backfill in progress`);
          else
            for (const b of cancelled)
              print(
                `backfill #${b.id} of ${name} cancelled: ${b.claimed} of ${b.slots} slots had been claimed`,
              );
        });
        return;
      }
      if (options.from === undefined || options.to === undefined) {
        throw new CliError(
          `beat backfill ${name} needs --from and --to (e.g. --from 2026-01-01T00:00:00Z --to now), or --cancel`,
        );
      }
      const range = { from: options.from, to: options.to };
      await withDatabase(async (database) => {
        const { databaseNow } = await import('../../db/store.ts');
        const now = await databaseNow(database);
        const request = {
          name,
          from: instantOption(range.from, '--from', now),
          to: instantOption(range.to, '--to', now),
          ratePerSecond,
          confirm: options.yes ?? false,
        };
        if (options.dryRun) {
          const plan = await planBackfill(database, request);
          if (options.json) printJson({ dryRun: true, ...planJson(plan) });
          else print(`${planText(plan)}\ndry run: nothing recorded (run it without --dry-run)`);
          return;
        }
        const { plan, backfill } = await requestBackfill(database, request, cliActor());
        if (options.json) {
          printJson({ dryRun: false, backfill: backfill.id, status: backfill.status, ...planJson(plan) });
          return;
        }
        print(planText(plan));
        print(
          plan.toSend === 0
            ? `backfill #${backfill.id} recorded: nothing to send (every slot is in the ledger already)`
            : `backfill #${backfill.id} recorded: the leader sends ${plan.toSend} slots at ${rateText(plan.ratePerSecond)} ('beat show ${name}' follows it)`,
        );
      });
    });
}

type Plan = Awaited<ReturnType<typeof import('../../operate/backfill.ts').planBackfill>>;

function instantOption(text: string, flag: string, now: number): number {
  if (text.trim() === 'now') return now;
  const ms = /^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim()) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new CliError(
      `${flag} ${JSON.stringify(text)} is not an instant: use ISO 8601 with Z or an offset (e.g. 2026-01-01T00:00:00Z) or 'now'`,
    );
  }
  return ms;
}

const rateText = (perSecond: number) => `${Number(perSecond.toFixed(3))}/s`;

function planJson(plan: Plan) {
  return {
    name: plan.name,
    from: new Date(plan.from).toISOString(),
    to: new Date(plan.to).toISOString(),
    rate: rateText(plan.ratePerSecond),
    slots: plan.slots.map((s) => ({
      scheduledFor: new Date(s.scheduledFor).toISOString(),
      taskId: s.taskId,
      ledger: s.ledger,
      sends: s.sends,
    })),
    toSend: plan.toSend,
  };
}

function planText(plan: Plan): string {
  const head = `${plan.name}: ${plan.slots.length} slots from ${new Date(plan.from).toISOString()} to ${new Date(plan.to).toISOString()}, ${plan.toSend} to send at ${rateText(plan.ratePerSecond)}`;
  const line = (s: Plan['slots'][number]) =>
    `  ${new Date(s.scheduledFor).toISOString()}  ${s.taskId}  ${
      s.ledger === null
        ? 'send'
        : s.sends
          ? `send (ledger: ${s.ledger}, never sent)`
          : `skip (ledger: ${s.ledger})`
    }`;
  const shown = plan.slots.slice(0, LISTED).map(line);
  if (plan.slots.length > LISTED)
    shown.push(`  … ${plan.slots.length - LISTED} more (--json lists them all)`);
  return [head, ...shown].join('\n');
}
