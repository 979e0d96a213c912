// Pure: distribution bases made by debootstrap (`base: debian({ suite: "bookworm" })`): their
// checked form, the debootstrap command line, the inputs they are cached by, which files of the
// tree are left out or emptied for reproducibility, and what debootstrap's failures mean.
import { MinicError } from "./errors.js";

/** debootstrap's variants: `minbase` (Essential + apt), `buildd` (+ build-essential), `default` (+ Priority important). */
export type DebootstrapVariant = "minbase" | "buildd" | "default";

/** A base built by debootstrap from a Debian archive; what `debian()` returns (plain data). */
export interface DebootstrapBase {
  readonly kind: "debootstrap";
  readonly distribution: "debian";
  readonly suite: string;
  readonly variant: DebootstrapVariant;
  /** Extra packages (`--include`), sorted and unique. */
  readonly packages: readonly string[];
  readonly mirror: string;
}

/** What `debian({...})` takes. */
export interface DebianOptions {
  /** A suite or codename debootstrap has a script for: "bookworm", "trixie", "stable", "sid", … */
  suite: string;
  /** Default "minbase". */
  variant?: DebootstrapVariant;
  /** Packages installed besides the variant's (debootstrap --include). */
  packages?: readonly string[];
  /** Default http://deb.debian.org/debian; a snapshot (http://snapshot.debian.org/archive/debian/20240601T000000Z) makes the base reproducible. */
  mirror?: string;
}

export const DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian";

/** Bump when what minic does to a debootstrap tree changes, so older cached bases stop matching. */
export const DISTRO_BASE_FORMAT = 1;

const VARIANTS: readonly DebootstrapVariant[] = ["minbase", "buildd", "default"];
const SUITE_RE = /^[a-z][a-z0-9.-]*$/;
/** Debian policy 5.6.1: lowercase letters, digits, + - . ; at least two characters, starting alphanumeric. */
const PACKAGE_RE = /^[a-z0-9][a-z0-9+.-]+$/;

/** Checks `input` and returns the base it describes (defaults filled, packages sorted). Throws ERECIPE. */
export function debianBase(input: DebianOptions): DebootstrapBase {
  const hint = 'debian({ suite: "bookworm", variant: "minbase", packages: ["curl"] })';
  if (!input || typeof input !== "object") throw new MinicError("ERECIPE", "debian() takes an object", { hint });
  const { suite, variant = "minbase", packages = [], mirror = DEFAULT_DEBIAN_MIRROR } = input;
  if (typeof suite !== "string" || !SUITE_RE.test(suite)) {
    throw new MinicError("ERECIPE", `debian() suite ${JSON.stringify(suite)} is not a suite name`, { hint: 'a codename or suite such as "bookworm", "trixie", "stable"' });
  }
  if (!VARIANTS.includes(variant)) {
    throw new MinicError("ERECIPE", `debian() variant ${JSON.stringify(variant)} is not one of ${VARIANTS.join(", ")}`, { hint });
  }
  if (!Array.isArray(packages)) throw new MinicError("ERECIPE", "debian() packages must be an array of package names", { hint });
  for (const p of packages) {
    if (typeof p !== "string" || !PACKAGE_RE.test(p)) {
      throw new MinicError("ERECIPE", `debian() package ${JSON.stringify(p)} is not a Debian package name`, { hint: "lowercase letters, digits and + - . (no versions: debootstrap takes names)" });
    }
  }
  if (typeof mirror !== "string" || !/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(mirror)) {
    throw new MinicError("ERECIPE", `debian() mirror ${JSON.stringify(mirror)} is not an http(s) URL`, { hint: `e.g. ${DEFAULT_DEBIAN_MIRROR}` });
  }
  return {
    kind: "debootstrap", distribution: "debian", suite, variant,
    packages: [...new Set(packages)].sort(), mirror: mirror.replace(/\/+$/, ""),
  };
}

/** Type guard for distribution bases. */
export function isDistroBase(x: unknown): x is DebootstrapBase {
  return typeof x === "object" && x !== null && (x as { kind?: unknown }).kind === "debootstrap";
}

/** Where and with what debootstrap runs: the host's part of a base's cache key. */
export interface DebootstrapHost {
  /** dpkg architecture, e.g. amd64. */
  arch: string;
  /** `debootstrap --version`, e.g. "debootstrap 1.0.128+nmu2+deb12u2". */
  version: string;
}

/**
 * Everything a distribution base's layer depends on besides SOURCE_DATE_EPOCH (which the build's
 * key parts carry): the base, the architecture, debootstrap's version and minic's tidying format.
 */
export function distroBaseInputs(base: DebootstrapBase, host: DebootstrapHost): object {
  return { distroBase: DISTRO_BASE_FORMAT, ...checkedFields(base), arch: host.arch, debootstrap: host.version };
}

/** The base's fields alone (a value from a worker may carry more; only these count). */
function checkedFields(b: DebootstrapBase): DebootstrapBase {
  return { kind: b.kind, distribution: b.distribution, suite: b.suite, variant: b.variant, packages: [...b.packages], mirror: b.mirror };
}

/** One line for progress, --explain and the image's history. */
export function describeDistroBase(b: DebootstrapBase): string {
  return `debootstrap --variant=${b.variant}${b.packages.length ? ` --include=${b.packages.join(",")}` : ""} ${b.suite} ${b.mirror}`;
}

/** The base's short name in messages: "debian bookworm (minbase)". */
export function distroBaseName(b: DebootstrapBase): string {
  return `${b.distribution} ${b.suite} (${b.variant})`;
}

/** dpkg's name for Node's `process.arch`. */
export function dpkgArch(nodeArch: string): string {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "armhf", ia32: "i386", ppc64: "ppc64el", s390x: "s390x", riscv64: "riscv64", mips64el: "mips64el" };
  return map[nodeArch] ?? nodeArch;
}

/** debootstrap's argv for `base` into `target` (its variant "default" is debootstrap's own, given by no --variant). */
export function debootstrapArgv(program: string, base: DebootstrapBase, arch: string, target: string): string[] {
  return [
    program,
    ...(base.variant === "default" ? [] : [`--variant=${base.variant}`]),
    `--arch=${arch}`,
    ...(base.packages.length ? [`--include=${base.packages.join(",")}`] : []),
    base.suite, target, base.mirror,
  ];
}

/**
 * What happens to one entry of a debootstrap tree (a name relative to its root) on its way into
 * the layer: `drop` (left out), `empty` (kept as an empty file) or `keep`. Left out: what differs
 * between two runs with the same inputs or describes the host (logs, apt's downloaded packages and
 * lists, ldconfig's aux cache, the *-old backups of dpkg and debconf, the host's hostname and
 * resolver, which debootstrap copies in). /etc/machine-id, when a package made one, is emptied
 * (systemd makes one at first boot from an empty file).
 */
export function tidyAction(name: string): "drop" | "empty" | "keep" {
  if (name === "etc/machine-id") return "empty";
  if (name === "etc/hostname" || name === "etc/resolv.conf") return "drop";
  if (name === "var/cache/ldconfig/aux-cache") return "drop";
  if (/^var\/log\/(.+\/)?[^/]+\.log(\.\d+)?(\.(gz|xz))?$/.test(name)) return "drop";
  if (/^var\/cache\/apt\/archives\/[^/]+\.deb$/.test(name)) return "drop";
  if (/^var\/cache\/apt\/[^/]+\.bin$/.test(name)) return "drop";
  if (/^var\/lib\/apt\/lists\/[^/]+$/.test(name) && !/^var\/lib\/apt\/lists\/(partial|lock)$/.test(name)) return "drop";
  if (/^var\/cache\/debconf\/[^/]+-old$/.test(name) || /^var\/lib\/dpkg\/[^/]+-old$/.test(name)) return "drop";
  return "keep";
}

/**
 * The one-line error for a debootstrap run that failed, from what it printed (its `E:` line says
 * why). `where` names the recipe and the base.
 */
export function debootstrapFailure(where: string, base: DebootstrapBase, output: string): MinicError {
  const e = output.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("E: ")).pop()?.slice(3) ?? "";
  const missing = /^Couldn't find these debs: (.+)$/.exec(e);
  if (missing) {
    return new MinicError("EINPUT", `${where}: ${base.mirror} has no package ${missing[1]!.trim().split(/\s+/).join(", ")} in ${base.suite}`, {
      hint: "check the package names (apt-cache policy NAME on a machine of that suite); debootstrap takes names from the main component",
    });
  }
  if (/^(Failed getting release file|Failed getting release signature file|Couldn't download|Couldn't retrieve|Failed to retrieve|Couldn't download packages)/i.test(e) || /^Failed getting/.test(e)) {
    return new MinicError("EHOST", `${where}: debootstrap could not download from ${base.mirror} (${e})`, {
      hint: "check that the network reaches the mirror and that it has that suite (old releases live on http://archive.debian.org/debian)",
    });
  }
  if (/^No such script/.test(e)) return unknownSuite(where, base);
  const last = e || output.trim().split("\n").pop()?.trim() || "no output";
  return new MinicError("EEXEC", `${where}: debootstrap failed: ${last}`, { hint: "run it with MINIC_DEBUG=1 to see the command; its log is lost with the tree" });
}

/** The error for a suite debootstrap has no script for. */
export function unknownSuite(where: string, base: DebootstrapBase): MinicError {
  return new MinicError("EINPUT", `${where}: debootstrap knows no suite '${base.suite}'`, {
    hint: "use a codename or suite it has a script for (ls /usr/share/debootstrap/scripts), e.g. bookworm, trixie, stable",
  });
}
