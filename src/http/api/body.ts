/**
 * Reading a mutation's JSON body: at most MAX_BODY_BYTES, `Content-Type: application/json` when
 * there is a body, a JSON object, and only the fields the endpoint knows (a typo is refused rather
 * than ignored). Every failure is an ApiError with a 4xx status and a message naming the fix.
 */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { parseJsonExact } from '../../model/json.ts';
import { ApiError } from './respond.ts';

const MAX_BODY_BYTES = 16 * 1024;
/** A bulk upsert's body: 100,000 schedules of a few hundred bytes each. */
export const MAX_BULK_BODY_BYTES = 64 * 1024 * 1024;
/** Past this (or 1 MiB past a larger limit) the connection is dropped instead of read to the end. */
const DRAIN_LIMIT = 1024 * 1024;

export interface BodyOptions {
  /** Default {@link MAX_BODY_BYTES}. */
  maxBytes?: number;
  /** Keep numbers a double would change (a schedule's args, kwargs, headers: src/model/json.ts). */
  exact?: boolean;
}

export async function readJsonBody<T>(
  req: IncomingMessage,
  schema: z.ZodType<T>,
  options: BodyOptions = {},
): Promise<T> {
  const text = await readText(req, options.maxBytes ?? MAX_BODY_BYTES);
  if (text.trim() === '') return parse(schema, {});
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new ApiError(
      415,
      'unsupported_media_type',
      `send the body as JSON with Content-Type: application/json (got ${JSON.stringify(type || 'none')})`,
    );
  }
  let value: unknown;
  try {
    value = options.exact ? parseJsonExact(text) : JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, 'bad_json', `the body is not valid JSON: ${(error as Error).message}`);
  }
  return parse(schema, value);
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, 'bad_body', 'the body must be a JSON object, e.g. {}');
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys')
      return `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    const field = issue.path.join('.') || 'body';
    return `${field}: ${issue.message}`;
  });
  throw new ApiError(400, 'bad_body', problems.join('; '));
}

function readText(req: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const drainLimit = Math.max(DRAIN_LIMIT, maxBytes + DRAIN_LIMIT);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > maxBytes;
    const refuse = () =>
      reject(
        new ApiError(413, 'body_too_large', `the body is larger than ${maxBytes} bytes`, {
          connection: 'close',
        }),
      );
    if (declared > drainLimit) {
      refuse();
      req.resume();
      return;
    }
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) tooLarge = true;
      if (size > drainLimit) {
        req.destroy();
        return;
      }
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => (tooLarge ? refuse() : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', () =>
      tooLarge ? refuse() : reject(new ApiError(400, 'bad_body', 'the body could not be read')),
    );
  });
}
