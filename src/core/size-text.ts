// Pure: sizes for people, in binary units, as minic's listings and messages show them.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** 1536 → "1.5 KiB", 32 MiB → "32 MiB", 1000 → "1000 B" (one decimal at most). */
export function humanSize(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${Number(v.toFixed(1))} ${UNITS[i]}`;
}
