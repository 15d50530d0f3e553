/** What Kai knows of a kind of domain event. */
export interface EventType {
  type: string;
  description: string;
  /** Critical events bypass notification opt-outs and quiet hours. */
  critical: boolean;
  /** Whether users are notified of it (in-app, email, SMS, push) besides their webhooks. */
  notifies: boolean;
}

const definitions: EventType[] = [
  {
    type: 'job.completed',
    description: 'A job finished with a result.',
    critical: false,
    notifies: true,
  },
  {
    type: 'job.failed',
    description: 'An attempt of a job failed; another attempt is scheduled.',
    critical: false,
    notifies: false,
  },
  {
    type: 'job.dead',
    description: 'A job failed for good: no attempts are left or the failure was not retryable.',
    critical: true,
    notifies: true,
  },
  {
    type: 'parameters.updated',
    description: 'A parameter set changed.',
    critical: false,
    notifies: true,
  },
  {
    type: 'study.completed',
    description: 'A parameter study finished.',
    critical: false,
    notifies: true,
  },
  {
    type: 'webhook.endpoint.disabled',
    description: 'Kai disabled a webhook endpoint after it answered 410 or failed too often.',
    critical: true,
    notifies: true,
  },
  {
    type: 'webhook.test',
    description: 'A test ping sent to one endpoint on request.',
    critical: false,
    notifies: false,
  },
];

/** Every event type Kai emits, by name. */
export const EVENT_TYPES: ReadonlyMap<string, EventType> = new Map(
  definitions.map((d) => [d.type, d]),
);

/** The shape every event type name has: dot-separated lowercase words. */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
