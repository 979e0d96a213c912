// A multi-stage build: a builder stage stamps and tests a program (its sources, tests and the
// build's leftovers stay in the builder), and the final image is busybox with that program only.
// minic build recipes/static-app.ts [--arg VERSION=2.0]; minic run static-app [-- /usr/local/bin/app NAME]
import { arg, copy, defineRecipe, from, run } from "minic";
import busybox from "./busybox.ts";

/** The builder stage: built first, in the same build; only /out/app is taken from it. */
const builder = defineRecipe({
  name: "static-app-builder",
  base: busybox,
  steps: [
    copy("static-app/*", "/src"),
    run(`mkdir -p /out /build && sed "s/@VERSION@/${arg("VERSION", "1.0")}/" /src/app.sh > /build/app && chmod 755 /build/app && sh /src/test.sh /build/app > /build/test.log && cp /build/app /out/app`),
  ],
});

export default defineRecipe({
  name: "static-app",
  base: busybox,
  steps: [copy(from(builder, "/out/app"), "/usr/local/bin")],
  config: { cmd: ["/usr/local/bin/app"] },
});
