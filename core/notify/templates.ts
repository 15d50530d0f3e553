import type { DomainEvent } from '../events/record-event.ts';

/** A notification as every channel renders it. */
export interface RenderedNotification {
  title: string;
  /** Plain text, for SMS, push and the text part of emails. */
  text: string;
  /** The HTML part of emails, every value escaped. */
  html: string;
}

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const str = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value ?? ''));

type Template = (event: DomainEvent) => { title: string; lines: string[] };

const TEMPLATES: Record<string, Template> = {
  'job.completed': (e) => ({
    title: `Job ${str(e.data.type)} completed`,
    lines: [`Your job ${str(e.data.jobId)} (${str(e.data.type)}) finished.`],
  }),
  'job.failed': (e) => ({
    title: `Job ${str(e.data.type)} failed an attempt`,
    lines: [`Attempt ${str(e.data.attempts)} of job ${str(e.data.jobId)} failed; Kai retries it.`],
  }),
  'job.dead': (e) => ({
    title: `Job ${str(e.data.type)} failed`,
    lines: [
      `Your job ${str(e.data.jobId)} (${str(e.data.type)}) failed after ${str(e.data.attempts)} attempt(s).`,
      `Reason: ${str((e.data.error as { message?: unknown } | null)?.message ?? 'unknown')}`,
    ],
  }),
  'parameters.updated': (e) => ({
    title: 'Parameters updated',
    lines: [`The parameter set ${str(e.data.name ?? e.subject)} changed.`],
  }),
  'study.completed': (e) => ({
    title: 'Study completed',
    lines: [`The study ${str(e.data.name ?? e.subject)} finished.`],
  }),
  'webhook.endpoint.disabled': (e) => ({
    title: 'Webhook endpoint disabled',
    lines: [
      `Kai disabled your webhook endpoint ${str(e.data.url)}.`,
      `Reason: ${str(e.data.reason)}`,
      'Fix the endpoint, enable it again and replay its failed deliveries.',
    ],
  }),
};

/** Renders an event for people: a title, plain text and escaped HTML. */
export function renderNotification(event: DomainEvent): RenderedNotification {
  const template =
    TEMPLATES[event.type] ??
    ((e: DomainEvent) => ({
      title: e.type,
      lines: [`Kai event ${e.type}${e.subject ? ` for ${e.subject}` : ''}.`],
    }));
  const { title, lines } = template(event);
  const html =
    `<!doctype html><html><body><h1>${escapeHtml(title)}</h1>` +
    lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('') +
    '</body></html>';
  return { title, text: lines.join('\n'), html };
}
