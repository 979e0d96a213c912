// Runs async work on a list with a bound on how many run at once.

/**
 * Calls `fn` on every item, at most `limit` at a time, and returns the results in order. After a
 * failure no further call starts, and those under way are awaited (so none is left writing while
 * the caller cleans up); then the error of the failed item with the lowest index is thrown.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  const errors = new Map<number, unknown>();
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        errors.set(i, e);
        next = items.length; // start no more: the command fails
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (errors.size > 0) throw errors.get(Math.min(...errors.keys()));
  return out;
}
