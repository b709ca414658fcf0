/**
 * Counts of what the random runs reached (operation kinds, size classes written, FULL failures,
 * milliseconds per kind), printed after a run and checked by model.test.ts.
 */
class Coverage {
  readonly #counts = new Map<string, number>()

  add(key: string, n = 1): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + n)
  }

  get(key: string): number {
    return this.#counts.get(key) ?? 0
  }

  summary(): string {
    return [...this.#counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ')
  }
}

export const coverage = new Coverage()

const CHUNK = 65_536

/** Counts a write or stream that succeeded, by the storage its size calls for. */
export function noteWrite(size: number): void {
  coverage.add(size <= 512 ? 'write inline' : size <= 4 * CHUNK ? 'write direct' : size < 85 * CHUNK ? 'write chunk map' : 'write multi-leaf map')
}

