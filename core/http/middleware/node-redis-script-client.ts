import { createHash } from 'node:crypto';
import { createClient } from 'redis';
import type { Logger } from '../../logging/logger.ts';
import type { UpstashScriptClient } from './upstash-rate-limiter.ts';

/** A node-redis connection dressed as the part of the Upstash client the rate limiter uses. */
export interface NodeRedisScriptClient {
  client: UpstashScriptClient;
  close(): Promise<void>;
}

/** The longest wait between two reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 2000;

/** The script flags open-source Redis (7.0 and later) knows. */
const REDIS_SCRIPT_FLAGS = new Set([
  'no-writes',
  'allow-oom',
  'allow-stale',
  'no-cluster',
  'allow-cross-slot-keys',
]);

/**
 * The script with the flags of its `#!lua flags=` line that Redis does not know removed.
 * `@upstash/ratelimit` marks its scripts `allow-key-locking`, a flag of Upstash's own engine
 * that Redis refuses; it asks nothing of the script's behaviour, which stays atomic in Redis.
 */
export function redisCompatibleScript(script: string): string {
  const match = /^(\s*)#!lua flags=([^\n]*)\n/.exec(script);
  if (!match) return script;
  const flags = (match[2] ?? '').split(',').map((flag) => flag.trim());
  const kept = flags.filter((flag) => REDIS_SCRIPT_FLAGS.has(flag));
  const shebang = kept.length > 0 ? `#!lua flags=${kept.join(',')}` : '#!lua';
  return `${match[1]}${shebang}\n${script.slice(match[0].length)}`;
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** Redis takes arguments as strings; Upstash's REST client sends JSON values. */
function toArgument(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * Connects to the Redis at `url` with node-redis and offers `eval`/`evalsha` with the Upstash
 * client's signature, so the real `@upstash/ratelimit` scripts run on a local Redis. Commands
 * fail at once while the connection is down (no offline queue), which lets the rate limiter
 * fail open instead of piling requests up; node-redis keeps reconnecting in the background.
 * The socket does not keep the process alive.
 */
export function connectNodeRedisScriptClient(url: string, logger: Logger): NodeRedisScriptClient {
  const redis = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2000,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS),
    },
  });

  // Without a listener an 'error' event would crash the process. It fires on every failed
  // reconnection; the rate limiter warns (throttled) about the requests it could not meter.
  redis.on('error', (error: Error) => logger.debug({ err: error }, 'redis connection error'));

  // Resolves once connected, which may be never while Redis is down: nothing waits for it.
  redis.connect().then(
    () => redis.unref(),
    (error: unknown) => logger.debug({ err: error }, 'redis connection closed'),
  );

  const ensureReady = () => {
    if (!redis.isReady) throw new Error('Redis is not connected (REDIS_URL).');
  };

  // Upstash's hash of a script whose flags had to change -> the hash Redis knows it by.
  const loadedShas = new Map<string, string>();

  const client = {
    async eval(script: string, keys: string[], args: unknown[]) {
      ensureReady();
      const options = { keys, arguments: args.map(toArgument) };
      const compatible = redisCompatibleScript(script);
      if (compatible === script) return redis.eval(script, options);

      const loaded = await redis.scriptLoad(compatible);
      loadedShas.set(sha1(script), loaded);
      return redis.evalSha(loaded, options);
    },
    // A hash Redis does not know answers NOSCRIPT, and the rate limiter then sends `eval`.
    async evalsha(sha: string, keys: string[], args: unknown[]) {
      ensureReady();
      const options = { keys, arguments: args.map(toArgument) };
      return redis.evalSha(loadedShas.get(sha) ?? sha, options);
    },
  } as unknown as UpstashScriptClient;

  return {
    client,
    async close() {
      if (redis.isOpen) redis.destroy();
    },
  };
}
