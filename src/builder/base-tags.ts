// Which recipe file gave each image name its image, so that building an app re-tags its base
// recipe's name only when the name is free or holds an image of that same recipe file.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../core/digest.js";
import { shapedOrUndefined, type Shape } from "../core/json-shape.js";
import { TAG_RECORD_SHAPE } from "../core/record-shapes.js";
import { formatRef, parseRef, type ImageRef } from "../core/reference.js";
import { writeFileAtomic } from "../store/atomic.js";
import type { Store } from "../store/store.js";
import { pruneRecords } from "./cache-records.js";

/** A name minic build set: the manifest it pointed the name at and the recipe file that made it. */
interface TagRecord {
  ref: string;
  manifest: Digest;
  recipe: string;
}

const SHAPE: Shape<TagRecord> = TAG_RECORD_SHAPE;

/** What tagImage did: tagged, or left the name to the image it holds (made by `holder`, when known). */
export type TagResult = { tagged: true } | { tagged: false; holder: string | undefined };

const dirOf = (store: Store) => join(store.layout.cacheDir, "tags");
const recordPath = (store: Store, ref: ImageRef) => join(dirOf(store), `${encodeURIComponent(formatRef(ref))}.json`);

/**
 * Points `ref` at `manifest`, made from recipe file `recipe`. Unless `force` (the image the user
 * asked to build), a name that holds another image is only moved when that image was made from
 * the same recipe file (an older build of it); otherwise it is left as it is.
 */
export async function tagImage(store: Store, ref: ImageRef, manifest: Digest, recipe: string, force: boolean): Promise<TagResult> {
  const current = await store.resolveRef(ref);
  const rec = await readRecord(store, ref);
  const madeHere = rec !== undefined && rec.manifest === current;
  if (!force && current !== undefined && current !== manifest && !(madeHere && rec.recipe === recipe)) {
    return { tagged: false, holder: madeHere ? rec.recipe : undefined };
  }
  await store.setRef(ref, manifest);
  if (rec?.manifest !== manifest || rec.recipe !== recipe) {
    await writeFileAtomic(recordPath(store, ref), JSON.stringify({ ref: formatRef(ref), manifest, recipe } satisfies TagRecord));
  }
  return { tagged: true };
}

/** For gc: removes the records of names that no longer hold the image recorded. Returns how many. */
export function pruneTagRecords(store: Store): Promise<number> {
  return pruneRecords(dirOf(store), (n) => n.endsWith(".json"), SHAPE, async (rec) => {
    if (!rec) return false;
    try {
      return (await store.resolveRef(parseRef(rec.ref))) === rec.manifest;
    } catch {
      return false;
    }
  });
}

async function readRecord(store: Store, ref: ImageRef): Promise<TagRecord | undefined> {
  try {
    return shapedOrUndefined(SHAPE, JSON.parse(await readFile(recordPath(store, ref), "utf8")));
  } catch {
    return undefined;
  }
}
