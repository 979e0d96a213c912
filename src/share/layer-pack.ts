// Packs entries into a canonical minic layer (cpio newc + bzip2) and hands the blob to a sink.
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { LAYER_MEDIA_TYPE, type LayerDescriptor } from "../core/image.js";
import { planArchive, type PlannedMember } from "../archive/cpio-canonical.js";
import { writeCpio, type DataSource } from "../archive/cpio-writer.js";
import { compress } from "../archive/bzip2.js";
import type { Entry } from "../archive/entry.js";
import type { BlobInfo } from "../store/store.js";
import type { LayerItem } from "../store/layers.js";

/** Where a packed blob goes: the store itself, or a staging area committed later. */
export type BlobSink = (stream: Readable) => Promise<BlobInfo>;

/**
 * Like store/layers putLayer, but the compressed stream goes to `sink`. Same items and epoch give
 * the same diff id (and, with the same bzip2 tool, the same digest). Throws EARCHIVE from the planner.
 */
export async function packLayer(items: readonly LayerItem[], epoch: number, sink: BlobSink): Promise<LayerDescriptor> {
  const sources = new Map<Entry, DataSource | undefined>(items.map((i) => [i.entry, i.data]));
  const plan = planArchive(items.map((i) => i.entry), epoch);
  const dataOf = (m: PlannedMember) => sources.get(m.entry);
  const diff = createHash("sha256");
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const chunk of writeCpio(plan, dataOf)) {
      diff.update(chunk);
      yield chunk;
    }
  }
  const blob = await sink(compress(hashed()));
  return { mediaType: LAYER_MEDIA_TYPE, digest: blob.digest, size: blob.size, diffId: `sha256:${diff.digest("hex")}` };
}
