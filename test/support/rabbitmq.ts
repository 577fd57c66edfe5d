/**
 * RabbitMQ for tests: a vhost of the test's own on the server at 127.0.0.1:5672 (guest/guest),
 * created and deleted with rabbitmqctl, and closing a client's connections by name.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const AMQP_HOST = process.env.METRONOME_TEST_AMQP_HOST ?? '127.0.0.1:5672';

async function ctl(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('rabbitmqctl', ['-q', ...args], { timeout: 30_000 });
    return stdout;
  } catch (error) {
    throw new Error(
      `these tests need RabbitMQ at ${AMQP_HOST} and rabbitmqctl (as root): rabbitmqctl ${args.join(' ')} failed: ${
        (error as Error).message
      }`,
    );
  }
}

export interface TestVhost {
  name: string;
  url: string;
  /** Close the connections in this vhost whose client properties mention `label`. */
  closeConnections(label: string): Promise<number>;
  drop(): Promise<void>;
}

export async function createVhost(): Promise<TestVhost> {
  const name = `metronome-test-${randomBytes(5).toString('hex')}`;
  await ctl('add_vhost', name);
  await ctl('set_permissions', '-p', name, 'guest', '.*', '.*', '.*');
  return {
    name,
    url: `amqp://guest:guest@${AMQP_HOST}/${name}`,
    async closeConnections(label: string) {
      const out = await ctl('list_connections', '--no-table-headers', 'pid', 'vhost', 'client_properties');
      const pids = out
        .split('\n')
        .map((line) => line.split('\t'))
        .filter((cols) => cols[1] === name && (cols[2] ?? '').includes(label))
        .map((cols) => cols[0] as string);
      for (const pid of pids) await ctl('close_connection', pid, 'closed by the test');
      return pids.length;
    },
    async drop() {
      await ctl('delete_vhost', name).catch(() => {});
    },
  };
}
