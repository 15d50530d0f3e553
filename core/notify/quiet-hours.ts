/** A user's quiet hours: local wall-clock times (`HH:MM`) in an IANA time zone. */
export interface QuietHours {
  timeZone: string;
  /** Start of the window, such as `22:00`; the window may wrap past midnight. */
  start: string;
  /** End of the window, such as `07:00`; deliveries deferred by it go out then. */
  end: string;
}

const MINUTE_MS = 60_000;
const DAY_MINUTES = 24 * 60;

function minutesOf(hhmm: string): number {
  const [h = '0', m = '0'] = hhmm.split(':');
  return Number.parseInt(h, 10) * 60 + Number.parseInt(m, 10);
}

/** The local minutes since midnight and seconds of `at` in `timeZone`. */
function localClock(at: Date, timeZone: string): { minutes: number; seconds: number } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { minutes: get('hour') * 60 + get('minute'), seconds: get('second') };
}

/** Whether `timeZone` is one Intl knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/**
 * When a non-critical delivery due at `now` may go out: `now` outside the quiet window, the
 * window's end (local time of the user's zone) inside it. A window whose start equals its end
 * is empty.
 */
export function quietHoursRelease(now: Date, quiet: QuietHours): Date {
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return now;

  const { minutes, seconds } = localClock(now, quiet.timeZone);
  const inside =
    start < end ? minutes >= start && minutes < end : minutes >= start || minutes < end;
  if (!inside) return now;

  const untilEnd = (end - minutes + DAY_MINUTES) % DAY_MINUTES;
  let release = new Date(now.getTime() + untilEnd * MINUTE_MS - seconds * 1000);

  // Across a daylight-saving change the wall clock moves; correct once by what it reads then.
  // Limitation: an end time that falls in a skipped hour lands one hour late.
  const drift = localClock(release, quiet.timeZone).minutes - end;
  if (drift !== 0 && Math.abs(drift) <= 120) {
    release = new Date(release.getTime() - drift * MINUTE_MS);
  }
  return release;
}
