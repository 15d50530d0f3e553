import { pino } from 'pino';
import type { DeliveryConfig } from '../core/events/delivery-config.ts';

/** A silent logger for tests (LOG_LEVEL=debug shows what happens). */
export const testLogger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

/** A delivery config with short retry schedules, for tests; overridden piecewise. */
export function testDeliveryConfig(over: Partial<DeliveryConfig> = {}): DeliveryConfig {
  return {
    notificationsEnabled: true,
    defaultChannel: 'in-app',
    retries: 3,
    timeoutMs: 2000,
    schedule: { baseMs: 100, maxMs: 1000 },
    failureThreshold: 50,
    retentionDays: 30,
    email: undefined,
    sms: undefined,
    push: undefined,
    transport: { kind: 'local' },
    signingKeys: undefined,
    ...over,
  };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `ms`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
