/**
 * A Map of at most `size` entries for values computed from their key alone (a place by IP
 * address, a formatted time) or used only as a hint that is checked anyway: when full, the oldest
 * entry goes. A read does not reorder (first in, first out rather than least recently used), so a
 * hit costs one Map lookup: these caches sit on paths that read them hundreds of times a request.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly size: number) {
    if (!(size >= 1)) throw new Error("A bounded cache holds at least one entry");
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    if (!this.entries.has(key) && this.entries.size >= this.size) this.entries.delete(this.entries.keys().next().value as K);
    this.entries.set(key, value);
  }

  /** The cached value, or `compute(key)` stored and returned. */
  getOrSet(key: K, compute: (key: K) => V): V {
    let value = this.entries.get(key);
    if (value === undefined) this.set(key, (value = compute(key)));
    return value;
  }

  get count(): number {
    return this.entries.size;
  }
}
