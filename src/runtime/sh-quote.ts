// Pure: quoting for the sh scripts the runtime writes.

/** Single-quotes a word for sh. */
export function shQuote(w: string): string {
  return `'${w.replace(/'/g, "'\\''")}'`;
}
