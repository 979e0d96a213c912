// minic pull: registry → store. Prefers the minic image of an index (kept as is, same digests);
// otherwise takes the linux image for this host and converts its tar layers. Every manifest and
// blob is verified by digest in a staging area; the store changes only when all of it checked out.
import type { Digest } from "../core/digest.js";
import { MinicError } from "../core/errors.js";
import type { ImageRef } from "../core/reference.js";
import type { Store } from "../store/store.js";
import { intakeOci, placeIntake, type IntakeResult } from "./image-intake.js";
import type { MemberPolicy } from "./member-policy.js";
import { parseShaped } from "../core/json-shape.js";
import { OCI_CONFIG_SHAPE, OCI_INDEX_SHAPE, OCI_MANIFEST_SHAPE } from "../core/oci-shapes.js";
import { checkConvertible, DOCKER_MANIFEST, isIndexType, OCI_MANIFEST } from "./oci-model.js";
import type { RegistryClient } from "./registry-client.js";
import { chooseManifest, foreignConfigNote, intakeWrapper, isMinicManifest } from "./registry-image.js";
import { BlobStaging, MALFORMED_HINT } from "./staging.js";
import { throwIfInterrupted } from "../util/exec.js";

export interface PullResult {
  manifestDigest: Digest;
  converted: boolean;
  fetched: number;
  reused: number;
  result: IntakeResult;
  /** What was taken from an index ("minic image", "linux/amd64", …); undefined for a single manifest. */
  chosen?: string;
  /** Notes for the user (an image for another architecture). */
  notes: string[];
}

/** Pulls `reference` and points `ref` at the stored image. */
export async function pullImage(store: Store, client: RegistryClient, reference: string, ref: ImageRef, policy: MemberPolicy): Promise<PullResult> {
  await client.ping();
  let top = await client.getManifest(reference);
  const manifestOf = (t: typeof top) => {
    if (t.mediaType !== OCI_MANIFEST && t.mediaType !== DOCKER_MANIFEST) {
      throw new MinicError("EREGISTRY", `unsupported manifest type '${t.mediaType}'`, { hint: "minic pulls OCI and docker v2 (schema 2) images" });
    }
    return parseShaped(OCI_MANIFEST_SHAPE, t.bytes.toString("utf8"), `image manifest ${t.digest.slice(0, 19)}…`, MALFORMED_HINT, "EREGISTRY");
  };
  let chosen: string | undefined;
  if (isIndexType(top.mediaType)) {
    const index = parseShaped(OCI_INDEX_SHAPE, top.bytes.toString("utf8"), `image index ${reference}`, MALFORMED_HINT, "EREGISTRY");
    const c = await chooseManifest(index, async (d) => manifestOf(await client.getManifest(d.digest)));
    chosen = c.what;
    top = await client.getManifest(c.descriptor.digest);
  }
  const m = manifestOf(top);
  const minic = isMinicManifest(m);
  if (!minic) checkConvertible(m, "EREGISTRY");
  const staging = await BlobStaging.open(store);
  try {
    let fetched = 0;
    let reused = 0;
    for (const d of [m.config, ...m.layers]) {
      // Converted images keep no tar blobs in the store, so only minic blobs can be reused.
      if (minic && (await staging.adoptStored(d.digest))) {
        reused++;
        continue;
      }
      // A minic layer is decompressed and unpacked as it downloads (see putLayer).
      const body = await client.getBlob(d.digest, d.size);
      const info = minic && d !== m.config ? await staging.putLayer(body, d.digest, policy) : await staging.put(body, d.digest);
      if (info.size !== d.size) throw new MinicError("EDIGEST", `blob ${d.digest.slice(0, 19)}… has ${info.size} bytes, not the ${d.size} its descriptor says`, { hint: "the registry sends something other than what the manifest names; nothing was stored" });
      fetched++;
    }
    const notes: string[] = [];
    let result: IntakeResult;
    if (minic) result = await intakeWrapper(staging, m, policy);
    else {
      const config = await staging.readJson(m.config.digest, OCI_CONFIG_SHAPE, "image config");
      const note = chosen === undefined ? foreignConfigNote(config) : undefined;
      if (note) notes.push(note);
      result = await intakeOci(staging, config, m.layers.length, (i) => staging.open(m.layers[i]!.digest), policy);
    }
    // A signal until here stores nothing; once the blobs are in, the name follows.
    throwIfInterrupted("the pull");
    await staging.commit(result.blobs);
    await placeIntake(store, result);
    await store.setRef(ref, result.manifestDigest);
    return { manifestDigest: result.manifestDigest, converted: !minic, fetched, reused, result, notes, ...(chosen === undefined ? {} : { chosen }) };
  } finally {
    await staging.discard();
  }
}
