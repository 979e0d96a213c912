// Which store minic uses, and why: one per machine, as podman, buildah and docker keep one.
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { MinicError } from "../core/errors.js";
import { checkoutRoot } from "../util/install.js";

/** Where the choice came from, in the order the rule tries them. */
export type StoreSource = "flag" | "env" | "checkout" | "machine" | "user";

export interface StoreLocation {
  root: string;
  source: StoreSource;
  /** Why this store, for `minic info` and `minic doctor`. */
  why: string;
}

/** The machine's store for root (podman: /var/lib/containers/storage). */
export const MACHINE_STORE = "/var/lib/minic";

export interface StoreFacts {
  /** --store, if given. */
  flag?: string;
  /** MINIC_STORE, if set and not empty. */
  env?: string;
  cwd: string;
  /** The root of the minic checkout this CLI runs from (a git work tree), if it runs from one. */
  checkout?: string;
  uid: number;
  home: string;
  /** XDG_DATA_HOME, if set. */
  xdgDataHome?: string;
}

/**
 * Pure: the store rule. `--store`, then MINIC_STORE (relative paths against cwd); then the
 * checkout's `layers/` when minic runs from its own checkout (development, the demo); then the
 * machine's store /var/lib/minic for root, or `$XDG_DATA_HOME/minic` (~/.local/share/minic) for
 * other users. The same from every directory: the working directory never picks the store.
 */
export function chooseStore(f: StoreFacts): StoreLocation {
  // Not the working directory: `--store "$UNSET"` would make it a store (0700, filled).
  if (f.flag === "") throw new MinicError("EUSAGE", "--store is empty", { hint: "give --store a directory path, e.g. --store /var/lib/minic" });
  if (f.flag !== undefined) return { root: resolve(f.cwd, f.flag), source: "flag", why: "given with --store" };
  if (f.env) return { root: resolve(f.cwd, f.env), source: "env", why: "from MINIC_STORE" };
  if (f.checkout) return { root: join(f.checkout, "layers"), source: "checkout", why: "this minic runs from its checkout, which keeps its store in layers/" };
  if (f.uid === 0) return { root: MACHINE_STORE, source: "machine", why: "the machine's store, root's default" };
  const data = f.xdgDataHome && f.xdgDataHome.startsWith("/") ? f.xdgDataHome : join(f.home, ".local", "share");
  return { root: join(data, "minic"), source: "user", why: "your user's store, the default for users other than root" };
}

/** The store for this process: chooseStore over the real facts. */
export function storeLocation(flag: string | undefined, cwd: string, env: NodeJS.ProcessEnv = process.env): StoreLocation {
  return chooseStore({
    flag, env: env.MINIC_STORE || undefined, cwd, checkout: checkoutRoot(),
    uid: process.getuid?.() ?? 0, home: env.HOME || homedir(), xdgDataHome: env.XDG_DATA_HOME,
  });
}
