// Pure: what the kernel and nspawn take as a host name: dot-separated labels of letters, digits
// and '-' (not at either end of a label), each at most 63 characters, at most 64 in all.

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function isHostname(h: string): boolean {
  return h.length > 0 && h.length <= 64 && h.split(".").every((l) => LABEL.test(l));
}

/** The hint for a name isHostname refuses. */
export const HOSTNAME_HINT = "use letters, digits and '-' in labels of at most 63, separated by '.', at most 64 in all";
