// minic push: send an image to an OCI registry (OCI + minic images in one index by default).
import { MinicError } from "../core/errors.js";
import { domainOf, formatRef, parseRef } from "../core/reference.js";
import { pushImage, type PushFormat } from "../share/push.js";
import type { LayerCompression } from "../share/layer-to-tar.js";
import { findProgram } from "../util/which.js";
import { findCredentials } from "../share/registry-auth.js";
import { RegistryClient } from "../share/registry-client.js";
import { formatRegistryRef, parseRegistryRef, registryScheme } from "../share/registry-ref.js";
import { str, type Command } from "./command.js";

export const pushCommand: Command = {
  name: "push",
  summary: "push an image to an OCI registry (http for localhost/127.0.0.1 or with --insecure)",
  usage: "IMAGE [HOST[:PORT]/REPO[:TAG]] [--format both|oci|minic] [--compression gzip|zstd] [--insecure] [--creds USER:PASSWORD] [--authfile FILE]",
  // podman's --tls-verify=false: minic's --insecure (https is verified unless it is given).
  aliases: { "--tls-verify=false": "--insecure", "--tls-verify=true": "", "--tls-verify": "" },
  options: { format: { type: "string" }, compression: { type: "string" }, insecure: { type: "boolean" }, creds: { type: "string" }, authfile: { type: "string" } },
  async run(values, positionals, ctx) {
    if (positionals.length < 1 || positionals.length > 2) throw new MinicError("EUSAGE", "push takes IMAGE and a registry reference", { hint: "minic push hello 127.0.0.1:5000/hello:1" });
    const format = (values.format ?? "both") as PushFormat;
    if (!["both", "oci", "minic"].includes(format)) throw new MinicError("EUSAGE", `unknown --format '${String(values.format)}'`, { hint: "use both (default), oci or minic" });
    const compression = (values.compression ?? "gzip") as LayerCompression;
    if (!["gzip", "zstd"].includes(compression)) throw new MinicError("EUSAGE", `unknown --compression '${String(values.compression)}'`, { hint: "use gzip (default) or zstd: how the OCI variant's layers are compressed" });
    if (compression === "zstd" && format === "minic") throw new MinicError("EUSAGE", "--compression applies to the OCI variant, and --format minic pushes none", { hint: "use --format oci or both" });
    if (compression === "zstd" && !findProgram("zstd")) throw new MinicError("EHOST", "--compression zstd needs the zstd tool", { hint: "apt-get install zstd" });
    // As podman: with no destination, an image named HOST[:PORT]/REPO:TAG goes where its name says.
    const target = parseRegistryRef(positionals[1] ?? oneArgTarget(positionals[0]!));
    if (target.digest) throw new MinicError("EUSAGE", "push needs a tag, not a digest", { hint: "e.g. 127.0.0.1:5000/hello:1" });
    const store = await ctx.store();
    const image = await store.getImage(positionals[0]!);
    const insecure = values.insecure === true;
    const creds = findCredentials(target.host, target.repository, { creds: str(values.creds), authfile: str(values.authfile) });
    const r = await pushImage(store, image, new RegistryClient(target, insecure, creds), target.reference, format, compression);
    ctx.out(`${formatRegistryRef(target)} ${r.digest}`);
    ctx.err(`pushed ${format} over ${registryScheme(target.host, insecure)}: ${r.uploaded} blob(s) uploaded, ${r.skipped} already there`);
    return 0;
  },
};

/** The destination of `minic push IMAGE`: the image's own name, which must then name a registry. */
function oneArgTarget(image: string): string {
  const ref = parseRef(image);
  if (domainOf(ref.name) === undefined) {
    throw new MinicError("EUSAGE", `push needs a registry reference: '${image}' names no registry`, { hint: `e.g. minic push ${image} 127.0.0.1:5000/${formatRef(ref)}` });
  }
  return formatRef(ref);
}
