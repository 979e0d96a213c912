// Pure: minic image config ⇄ OCI image config. Run settings OCI lacks travel as io.minic.* labels.
import type { Digest } from "../core/digest.js";
import { MinicError } from "../core/errors.js";
import { isEnvEntry, OCI_EXTRA_FIELDS, type ImageConfig, type LayerHistory, type OciExtras, type RunConfig } from "../core/image.js";
import type { Limits } from "../core/limits.js";
import { HOSTNAME_LABEL, LIMITS_LABEL, type OciConfig } from "./oci-model.js";

/**
 * The OCI config of a minic image whose layers, converted to tar, have `diffIds`. One history
 * entry per layer (OCI counts non-empty history entries against layers, so none is marked empty).
 */
export function toOciConfig(config: ImageConfig, diffIds: readonly Digest[]): OciConfig {
  const run = config.config;
  const labels: Record<string, string> = { ...run.labels };
  if (run.hostname) labels[HOSTNAME_LABEL] = run.hostname;
  if (Object.keys(run.limits).length > 0) labels[LIMITS_LABEL] = JSON.stringify(run.limits);
  const inner: NonNullable<OciConfig["config"]> = {
    Env: [...run.env],
    WorkingDir: run.workdir,
  };
  if (run.user && run.user !== "root") inner.User = run.user;
  if (run.cmd.length > 0) inner.Cmd = [...run.cmd];
  if (run.entrypoint.length > 0) inner.Entrypoint = [...run.entrypoint];
  if (Object.keys(labels).length > 0) inner.Labels = labels;
  for (const k of OCI_EXTRA_FIELDS) if (run.oci?.[k] !== undefined) Object.assign(inner, { [k]: run.oci[k] });
  return {
    created: config.created,
    architecture: config.architecture,
    os: config.os,
    config: inner,
    rootfs: { type: "layers", diff_ids: [...diffIds] },
    history: diffIds.map((_, i) => {
      const h = config.history[i];
      const entry: NonNullable<OciConfig["history"]>[number] = { created: config.created, created_by: h?.createdBy ?? "minic" };
      if (h?.recipeDigest) entry.comment = `minic recipe ${h.recipeDigest}`;
      return entry;
    }),
  };
}

/** What minic keeps of an OCI config: run settings, one history entry per layer, platform, time. */
export interface MappedConfig {
  run: RunConfig;
  history: LayerHistory[];
  architecture: string;
  /** Seconds since the epoch of `created`, or undefined when absent or unparsable. */
  created: number | undefined;
}

/**
 * Maps an OCI/docker config onto minic's. Env is sorted by key (last definition wins); the
 * OciExtras fields are kept as they are. Throws EINPUT for a non-linux image.
 */
export function fromOciConfig(oci: OciConfig, layerCount: number): MappedConfig {
  if (oci.os !== "linux") {
    throw new MinicError("EINPUT", `image is for os '${oci.os}', not linux`, { hint: "minic runs Linux images only" });
  }
  const c = oci.config ?? {};
  const labels: Record<string, string> = { ...(c.Labels ?? {}) };
  let limits: Limits = {};
  // A docker config's own Hostname is not the container's (Docker and podman ignore it): kept as an extra.
  const hostname = labels[HOSTNAME_LABEL] ?? "";
  if (labels[LIMITS_LABEL]) {
    try {
      limits = sanitizeLimits(JSON.parse(labels[LIMITS_LABEL]));
    } catch {
      limits = {};
    }
  }
  delete labels[HOSTNAME_LABEL];
  delete labels[LIMITS_LABEL];
  // An image without a command keeps none (run refuses it without one, as podman does), and one
  // without Env none (run gives it a default PATH): save and push give back what came in.
  const run: RunConfig = {
    cmd: [...(c.Cmd ?? [])],
    entrypoint: [...(c.Entrypoint ?? [])],
    env: sortEnv(c.Env ?? []),
    workdir: c.WorkingDir || "/",
    user: c.User || "root",
    hostname,
    limits,
    labels: sortRecord(labels),
  };
  const extras = ociExtras(c);
  if (extras) run.oci = extras;
  const layered = (oci.history ?? []).filter((h) => !h.empty_layer);
  const history: LayerHistory[] = Array.from({ length: layerCount }, (_, i) => {
    const h = layered.length === layerCount ? layered[i] : undefined;
    const out: LayerHistory = { createdBy: (h?.created_by ?? "load").slice(0, 1024) };
    const m = /^minic recipe (sha256:[0-9a-f]{64})$/.exec(h?.comment ?? "");
    if (m) out.recipeDigest = m[1] as Digest;
    return out;
  });
  const t = oci.created ? Date.parse(oci.created) : NaN;
  return { run, history, architecture: oci.architecture, created: Number.isFinite(t) && t >= 0 ? Math.floor(t / 1000) : undefined };
}

/** The OciExtras fields an OCI config sets (null and empty ones, which set nothing, left out), or undefined for none. */
function ociExtras(c: NonNullable<OciConfig["config"]>): OciExtras | undefined {
  const out: Record<string, unknown> = {};
  for (const k of OCI_EXTRA_FIELDS) {
    const v: unknown = c[k];
    // Object.keys counts an object's members, an array's items and a string's characters alike.
    if (v !== undefined && v !== null && v !== "" && Object.keys(v).length > 0) out[k] = v;
  }
  return Object.keys(out).length > 0 ? (out as OciExtras) : undefined;
}

/** `KEY=value` strings sorted by key; a later definition of a key replaces an earlier one; entries without a value dropped. */
export function sortEnv(env: readonly string[]): string[] {
  const byKey = new Map<string, string>();
  for (const kv of env.filter(isEnvEntry)) byKey.set(kv.slice(0, kv.indexOf("=")), kv);
  return [...byKey.keys()].sort().map((k) => byKey.get(k)!);
}

function sortRecord(r: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort()) out[k] = String(r[k]);
  return out;
}

function sanitizeLimits(x: unknown): Limits {
  const out: Limits = {};
  if (typeof x !== "object" || x === null) return out;
  const o = x as Record<string, unknown>;
  if (typeof o.memoryBytes === "number" && o.memoryBytes > 0) out.memoryBytes = o.memoryBytes;
  if (typeof o.cpus === "number" && o.cpus > 0) out.cpus = o.cpus;
  if (typeof o.cpuset === "string" && /^[0-9,-]+$/.test(o.cpuset)) out.cpuset = o.cpuset;
  if (typeof o.pids === "number" && o.pids > 0) out.pids = o.pids;
  return out;
}
