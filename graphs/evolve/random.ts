/**
 * Seeded randomness whose whole state is one 32-bit integer, so the graph checkpoint can carry
 * it and a resumed run draws the same numbers it would have drawn (mulberry32).
 */
export interface SeededRandom {
  next: () => number;
  /** The state to store; `createRandom(state)` continues the sequence from here. */
  state: () => number;
}

/** A generator continuing from `state` (any integer; a run's seed to start). */
export function createRandom(state: number): SeededRandom {
  let current = state >>> 0;
  return {
    next() {
      current = (current + 0x6d2b79f5) >>> 0;
      let value = Math.imul(current ^ (current >>> 15), 1 | current);
      value ^= value + Math.imul(value ^ (value >>> 7), 61 | value);
      return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
    },
    state: () => current,
  };
}
