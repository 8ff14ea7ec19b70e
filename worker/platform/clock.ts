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

/** A Postgres timestamp (a Date from the driver, or a string) as ISO 8601 in UTC. */
export const toIso = (v: string | Date): string => new Date(v).toISOString();

/** `toIso`, with SQL NULL kept as null. */
export const toIsoOrNull = (v: unknown): string | null => (v == null ? null : toIso(v as string | Date));
