/** Injected time source: services take a Clock so tests can move time without sleeping. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Start of the next UTC day after `d`. */
export function nextUtcMidnight(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1));
}

/** `YYYY-MM-DD` of `d` in UTC. */
export function utcDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}
