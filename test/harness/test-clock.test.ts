// TEST_NOW moves every clock of a run to one instant by a fixed offset from the real time.
import { describe, expect, it } from 'vitest';
import { offsetClock, offsetFor, parseOffset } from '../support/test-clock.ts';

describe('the suite clock', () => {
  it('reads TEST_NOW at the moment the offset was taken, then runs at the real pace', () => {
    const real = Date.parse('2026-11-30T04:00:00Z');
    const offset = offsetFor('2026-02-28T23:59:30Z', real);
    expect(new Date(real + offset).toISOString()).toBe('2026-02-28T23:59:30.000Z');
    const clock = offsetClock(offsetFor('2026-02-28T23:59:30Z'));
    const first = clock.now().getTime();
    expect(Math.abs(first - Date.parse('2026-02-28T23:59:30Z'))).toBeLessThan(60_000);
    expect(clock.now().getTime()).toBeGreaterThanOrEqual(first);
  });

  it('is the real time without TEST_NOW', () => {
    expect(offsetFor(undefined)).toBe(0);
    expect(offsetFor('')).toBe(0);
    expect(parseOffset(undefined)).toBe(0);
  });

  it('refuses anything but a UTC instant, so a typo cannot run the suite at the wrong time', () => {
    for (const bad of [
      '2026-02-28',
      '2026-02-28T23:59:30',
      '2026-02-28T23:59:30+01:00',
      '2026-02-30T25:00:00Z',
      'tomorrow',
    ]) {
      expect(() => offsetFor(bad), bad).toThrow(TypeError);
    }
    expect(() => parseOffset('1.5')).toThrow(TypeError);
    expect(parseOffset('-23000000000')).toBe(-23_000_000_000);
  });
});
