// minic tag: give an image more names (podman tag SOURCE TARGET...). The image is held from gc
// while the names are written, so an unnamed image given by its ID cannot go in between.
import { MinicError } from "../core/errors.js";
import { tagOption, type Command } from "./command.js";

export const tagCommand: Command = {
  name: "tag",
  summary: "give an image more names (SOURCE is a name or an image ID)",
  usage: "SOURCE TARGET[:TAG]...",
  options: {},
  async run(_values, positionals, ctx) {
    const [source, ...targets] = positionals;
    if (!source || targets.length === 0) throw new MinicError("EUSAGE", "tag needs a SOURCE image and at least one TARGET name", { hint: "minic tag hello:latest registry.example/hello:1" });
    // Every name is checked before any is written: a bad third name leaves the first two unwritten.
    const refs = targets.map((t) => tagOption(t, "tag")!);
    const store = await ctx.store({ create: false });
    const { manifestDigest, manifest } = await store.getImage(source);
    await store.hold({ blobs: [manifestDigest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)] });
    // Looked up again under the hold: a gc under way may have freed an unnamed image meanwhile.
    await store.readImage(manifestDigest);
    for (const r of refs) await store.setRef(r, manifestDigest);
    return 0;
  },
};
