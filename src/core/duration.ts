// Pure: time limits as users write them: seconds (`90`, `1.5`) or with a unit (`500ms`, `90s`, `10m`, `2h`).
import { MinicError } from "./errors.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, "": 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration into milliseconds (a bare number is seconds). Throws EUSAGE naming `what`. */
export function parseDuration(v: string | number, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(String(v).trim());
  const ms = m ? Math.round(Number(m[1]) * UNIT_MS[m[2] ?? ""]!) : NaN;
  if (!Number.isFinite(ms) || ms <= 0 || ms > 2 ** 31 - 1) {
    throw new MinicError("EUSAGE", `invalid ${what} '${v}'`, { hint: "give seconds (e.g. 600) or a duration such as 90s, 10m or 2h (at most 24 days)" });
  }
  return ms;
}

/** Pure: a duration for messages (`2s`, `1.5s`, `10m`, `2h`, `250ms`). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
