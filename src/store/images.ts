// Assembles an image (config + manifest) from layers and stores it.
import type { Digest } from "../core/digest.js";
import { canonicalJson, sha256 } from "../core/digest.js";
import {
  CONFIG_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, type ImageConfig, type LayerDescriptor, type LayerHistory, type Manifest, type RunConfig,
} from "../core/image.js";
import type { Store } from "./store.js";

/** The SOURCE_DATE_EPOCH in force (seconds), 0 when unset. Read once at the edge, passed in below. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === "") return 0;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** Pure: the config and manifest for layers + run config. Same inputs, same digests. */
export function makeImage(layers: readonly LayerDescriptor[], run: RunConfig, history: readonly LayerHistory[], epoch: number, architecture = hostArchitecture()): { config: ImageConfig; manifest: Manifest } {
  const config: ImageConfig = {
    schemaVersion: 1,
    architecture,
    os: "linux",
    created: new Date(epoch * 1000).toISOString(),
    config: run,
    rootfs: { type: "layers", diffIds: layers.map((l) => l.diffId) },
    history: [...history],
  };
  const json = canonicalJson(config);
  const manifest: Manifest = {
    schemaVersion: 1,
    mediaType: MANIFEST_MEDIA_TYPE,
    config: { mediaType: CONFIG_MEDIA_TYPE, digest: sha256(json), size: Buffer.byteLength(json) },
    layers: [...layers],
  };
  return { config, manifest };
}

/** Stores an image made by makeImage; returns the manifest digest. */
export async function putImage(store: Store, layers: readonly LayerDescriptor[], run: RunConfig, history: readonly LayerHistory[], epoch: number): Promise<Digest> {
  const { config, manifest } = makeImage(layers, run, history, epoch);
  return store.putImage(manifest, config);
}

/** OCI architecture name of this host. */
export function hostArchitecture(): string {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return map[process.arch] ?? process.arch;
}
