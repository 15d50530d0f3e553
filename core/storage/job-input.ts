import { z } from 'zod';

/**
 * How a job's input reaches its handler, as the API writes it into `payload.input`: either an
 * object Kai stored (an upload or a base64 body, read through the storage port) or a URL the
 * caller gave (to be fetched through the SSRF-guarded client). Job types that take an input
 * declare `input: jobInputSchema` in their payload schema.
 */
export const jobInputSchema = z.union([
  z.strictObject({
    storage: z.string().min(1).max(40),
    key: z.string().min(1).max(300),
    contentType: z.string().min(1).max(200),
    bytes: z.number().int().min(0),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  z.strictObject({ url: z.url({ protocol: /^https?$/ }).max(2048) }),
]);

/** A job input as a handler receives it. */
export type JobInput = z.infer<typeof jobInputSchema>;
