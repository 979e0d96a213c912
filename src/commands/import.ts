// minic import: turn a directory tree or a rootfs archive (cpio or tar; plain, gzip or bzip2)
// into a one-layer image. The source is untrusted: device nodes are dropped and setuid/setgid
// bits cleared unless asked; owners are kept (a rootfs needs them) unless --squash-owner.
import { resolve } from "node:path";
import { MinicError } from "../core/errors.js";
import { defaultRunConfig } from "../core/image.js";
import { formatRef } from "../core/reference.js";
import { putImage, sourceDateEpoch } from "../store/images.js";
import { importSource } from "../share/import-source.js";
import { describeReport } from "../share/image-intake.js";
import { IMPORT_POLICY, type MemberPolicy } from "../share/member-policy.js";
import { tagOption, type Command } from "./command.js";

export const importCommand: Command = {
  name: "import",
  summary: "make a one-layer image from a directory, rootfs.cpio[.bz2] or rootfs.tar[.gz|.bz2]",
  usage: "SOURCE -t NAME[:TAG] [--keep-setuid] [--keep-devices] [--squash-owner]",
  options: {
    tag: { type: "string", short: "t" },
    "keep-setuid": { type: "boolean" },
    "keep-devices": { type: "boolean" },
    "squash-owner": { type: "boolean" },
  },
  async run(values, positionals, ctx) {
    const [source] = positionals;
    if (!source || positionals.length > 1) throw new MinicError("EUSAGE", "import takes one SOURCE", { hint: "minic import DIR|rootfs.cpio.bz2|rootfs.tar.gz -t NAME[:TAG]" });
    if (source === "-") throw new MinicError("EUSAGE", "import reads a file or a directory, not stdin ('-')", { hint: "save the stream to a file first (… > rootfs.tar; minic import rootfs.tar -t NAME), or 'minic load -' for an image tarball" });
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) throw new MinicError("EUSAGE", `import reads a local file or directory, not a URL ('${source}')`, { hint: "fetch it first (curl -fLo rootfs.tar URL), then minic import rootfs.tar -t NAME" });
    if (typeof values.tag !== "string") throw new MinicError("EUSAGE", "import needs -t NAME[:TAG]", { hint: "e.g. minic import ./rootfs -t debian:12" });
    const ref = tagOption(values.tag)!;
    const policy: MemberPolicy = {
      ...IMPORT_POLICY,
      devices: values["keep-devices"] ? "keep" : IMPORT_POLICY.devices,
      setuid: values["keep-setuid"] ? "keep" : IMPORT_POLICY.setuid,
      owners: values["squash-owner"] ? "root" : IMPORT_POLICY.owners,
    };
    const store = await ctx.store();
    const epoch = sourceDateEpoch();
    const { layer, kind, report } = await importSource(store, resolve(ctx.cwd, source), policy, epoch);
    const digest = await putImage(store, [layer], defaultRunConfig(), [{ createdBy: "import" }], epoch);
    await store.setRef(ref, digest);
    ctx.out(`${formatRef(ref)} ${digest}`);
    const note = describeReport(report);
    ctx.err(`imported ${report.entries} entries from a ${kind} as layer ${layer.diffId} (${layer.size} bytes compressed)${note ? `; ${note}` : ""}`);
    return 0;
  },
};
