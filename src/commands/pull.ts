// minic pull: fetch an image from an OCI registry into the store (converting OCI tar layers).
import { formatRef, parseRef } from "../core/reference.js";
import { describeReport } from "../share/image-intake.js";
import { LAYER_POLICY } from "../share/member-policy.js";
import { pullImage } from "../share/pull.js";
import { findCredentials } from "../share/registry-auth.js";
import { RegistryClient } from "../share/registry-client.js";
import { parseRegistryRef, pulledName } from "../share/registry-ref.js";
import { MinicError } from "../core/errors.js";
import { str, tagOption, type Command } from "./command.js";

export const pullCommand: Command = {
  name: "pull",
  summary: "pull an image from an OCI registry (stored as HOST[:PORT]/REPO:TAG, or :sha256-<12 hex> for a digest, unless -t)",
  usage: "HOST[:PORT]/REPO[:TAG|@DIGEST] [-t NAME[:TAG]] [--insecure] [--creds USER:PASSWORD] [--authfile FILE] [--keep-devices]",
  // podman's --tls-verify=false: minic's --insecure (https is verified unless it is given).
  aliases: { "--tls-verify=false": "--insecure", "--tls-verify=true": "", "--tls-verify": "" },
  options: { tag: { type: "string", short: "t" }, insecure: { type: "boolean" }, creds: { type: "string" }, authfile: { type: "string" }, "keep-devices": { type: "boolean" } },
  async run(values, positionals, ctx) {
    if (positionals.length !== 1) throw new MinicError("EUSAGE", "pull takes one registry reference", { hint: "minic pull 127.0.0.1:5000/hello:1" });
    const src = parseRegistryRef(positionals[0]!);
    // Checked as any name is: the whole reference must also fit the store.
    const ref = tagOption(values.tag) ?? parseRef(formatRef(pulledName(src)));
    const store = await ctx.store();
    const policy = { ...LAYER_POLICY, devices: values["keep-devices"] ? "keep" as const : LAYER_POLICY.devices };
    const creds = findCredentials(src.host, src.repository, { creds: str(values.creds), authfile: str(values.authfile) });
    const r = await pullImage(store, new RegistryClient(src, values.insecure === true, creds), src.reference, ref, policy);
    ctx.out(`${formatRef(ref)} ${r.manifestDigest}`);
    const note = describeReport(r.result.report);
    const from = r.chosen === undefined ? "" : ` (${r.chosen} of an index)`;
    ctx.err(`pulled ${r.converted ? "an OCI image (layers converted)" : "a minic image"}${from}: ${r.fetched} blob(s) fetched, ${r.reused} already stored${note ? `; ${note}` : ""}`);
    for (const n of r.notes) ctx.err(`minic: note: ${n}`);
    return 0;
  },
};
