// Image metadata as stored: the manifest (ordered layers + config) and the config blob.
import type { Digest } from "./digest.js";
import type { Limits } from "./limits.js";

export const MANIFEST_MEDIA_TYPE = "application/vnd.minic.manifest.v1+json";
export const CONFIG_MEDIA_TYPE = "application/vnd.minic.config.v1+json";
/** A layer blob: newc cpio compressed with bzip2; deletions are `.wh.` entries. */
export const LAYER_MEDIA_TYPE = "application/vnd.minic.layer.v1.cpio+bzip2";

/** One layer in a manifest: the compressed blob and the digest of its uncompressed cpio. */
export interface LayerDescriptor {
  mediaType: typeof LAYER_MEDIA_TYPE;
  /** sha256 of the compressed blob. */
  digest: Digest;
  /** Size of the compressed blob in bytes. */
  size: number;
  /** sha256 of the uncompressed cpio: the layer's identity. */
  diffId: Digest;
}

export interface Manifest {
  schemaVersion: 1;
  mediaType: typeof MANIFEST_MEDIA_TYPE;
  config: { mediaType: typeof CONFIG_MEDIA_TYPE; digest: Digest; size: number };
  /** Base first, top last. */
  layers: LayerDescriptor[];
}

/** How a container starts, complete: every field has its resolved default. */
export interface RunConfig {
  cmd: string[];
  entrypoint: string[];
  /** `KEY=value`, sorted by key. */
  env: string[];
  workdir: string;
  user: string;
  hostname: string;
  limits: Limits;
  labels: Record<string, string>;
  /** OCI config fields minic keeps for the image's users (absent when none): see OciExtras. */
  oci?: OciExtras;
}

/**
 * Settings of a loaded or pulled image that minic keeps as they were, so that save and push
 * give them back (podman, Docker and Kubernetes read them): declared ports and volumes, the
 * health check, the shell of a Dockerfile's shell form, ONBUILD triggers. `minic run` uses
 * StopSignal (the signal a stop sends); the rest only travels.
 */
export interface OciExtras {
  ExposedPorts?: Record<string, Record<string, unknown>>;
  Volumes?: Record<string, Record<string, unknown>>;
  StopSignal?: string;
  Healthcheck?: Record<string, unknown>;
  Shell?: string[];
  OnBuild?: string[];
  /** A docker config's Hostname (buildah writes its build container's id): kept, not applied (Docker and podman ignore it too). */
  Hostname?: string;
}

/** The OciExtras fields, in the order they are written. */
export const OCI_EXTRA_FIELDS = ["ExposedPorts", "Volumes", "StopSignal", "Healthcheck", "Shell", "OnBuild", "Hostname"] as const;

/** Where a layer came from (shown by `minic inspect`). */
export interface LayerHistory {
  /** Recipe name, or `import`/`load` for layers made otherwise. */
  createdBy: string;
  /** Digest of the canonical recipe that made the layer, when a recipe did. */
  recipeDigest?: Digest;
  /** True for a layer that adds nothing (kept so history lines up with layers). */
  empty?: boolean;
}

export interface ImageConfig {
  schemaVersion: 1;
  architecture: string;
  os: "linux";
  /** ISO time, from SOURCE_DATE_EPOCH (never the clock), so configs are reproducible. */
  created: string;
  config: RunConfig;
  rootfs: { type: "layers"; diffIds: Digest[] };
  history: LayerHistory[];
}

/**
 * Whether an image's env entry is NAME=VALUE (the OCI config's form). An entry without `=`
 * names no value: nspawn's --setenv=NAME would copy the host's value of NAME into the container
 * and env(1) would run NAME as the command, so such entries are dropped wherever one is used.
 */
export function isEnvEntry(kv: string): boolean {
  return kv.indexOf("=") > 0;
}

/** A variable name as shells and systemd-nspawn take it: letters, digits and '_', not starting with a digit. */
export function isEnvName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/** What to say of a name isEnvName refuses. */
export const ENV_NAME_HINT = "a name is letters, digits and '_', not starting with a digit";

/** Default run configuration for an image with nothing set. */
export function defaultRunConfig(): RunConfig {
  return { cmd: ["/bin/sh"], entrypoint: [], env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], workdir: "/", user: "root", hostname: "", limits: {}, labels: {} };
}

/** The 32-bit architecture whose programs a 64-bit host's kernel runs itself when it has the compat layer. */
const COMPAT_ARCH: Readonly<Record<string, string>> = { amd64: "386", arm64: "arm" };

/**
 * Pure: what to tell the user when an image is for `arch` and the host is `hostArch` (OCI names:
 * amd64, arm64, 386, …), or undefined when they match or the image names none. As podman warns:
 * the image may still run, natively (386 on amd64, arm on arm64, with the kernel's 32-bit
 * support) or through binfmt_misc and qemu-user; else it fails with 'Exec format error'.
 */
export function foreignArchNote(arch: string | undefined, hostArch: string): string | undefined {
  if (!arch || arch === hostArch) return undefined;
  const how = COMPAT_ARCH[hostArch] === arch
    ? "its programs run only where the kernel runs 32-bit programs (CONFIG_COMPAT), or through an emulator"
    : "its programs run only through an emulator (binfmt_misc, qemu-user)";
  return `is for linux/${arch}, this host is linux/${hostArch}: ${how}`;
}
