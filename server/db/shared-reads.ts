/**
 * Reads of rows that never change once stored, shared: everyone asking for one key at the same
 * time waits on one read, and its result stays for later askers (the `max` most recent keys). A
 * read that finds nothing (null) or fails is not kept, so the next asker reads again. Used for a
 * round's members (rounds/inbox.ts) and for model versions (models/models.service.ts), which every
 * agent of a round asks for at once.
 */
export class SharedReads<K, V> {
  private readonly reads = new Map<K, Promise<V | null>>();

  constructor(private readonly max: number) {}

  get(key: K, read: () => Promise<V | null>): Promise<V | null> {
    let r = this.reads.get(key);
    if (!r) {
      r = read();
      this.keep(key, r);
      const forget = () => {
        if (this.reads.get(key) === r) this.reads.delete(key);
      };
      r.then((v) => v ?? forget(), forget);
    }
    return r;
  }

  /** Keeps a value known to be stored and committed, so that nobody needs to read it. */
  set(key: K, value: V): void {
    if (!this.reads.has(key)) this.keep(key, Promise.resolve(value));
  }

  private keep(key: K, r: Promise<V | null>): void {
    this.reads.set(key, r);
    if (this.reads.size > this.max) this.reads.delete(this.reads.keys().next().value!);
  }
}
