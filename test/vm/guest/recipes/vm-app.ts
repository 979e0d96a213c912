// The image the VM tests run: the busybox base plus a run step (proves `minic build` runs steps
// on this host) and a config (proves `minic run` applies it).
import { defineRecipe, run } from "minic";
import busybox from "../../minic/recipes/busybox.ts";

export default defineRecipe({
  name: "vm-app",
  base: busybox,
  steps: [run("echo built-in-vm > /etc/vm-built && mkdir -p /srv/www && echo hello-vm > /srv/www/index.html")],
  config: { cmd: ["/bin/sh", "-c", "echo greeting=$GREETING cwd=$(pwd)"], env: { GREETING: "hi" }, workdir: "/srv" },
});
