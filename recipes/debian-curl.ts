// A Debian app image whose packages come from apt-get in a run step, with apt's caches as cache
// mounts: a rebuild after a change in the app step reuses the packages layer (a cache hit), and a
// rebuild after a change in the apt step downloads nothing ("Need to get 0 B").
import { debian, defineRecipe, file, run } from "minic";

/** apt keeps what it downloads (apt-get does by default; `apt` the command deletes it unless told). */
const KEEP_DEBS = 'Binary::apt::APT::Keep-Downloaded-Packages "true";\nAPT::Keep-Downloaded-Packages "true";\n';

/** The packages layer: Debian's minbase from debootstrap, curl from apt-get, apt's caches kept by the store. */
export const packages = defineRecipe({
  name: "debian-curl-packages",
  base: debian({ suite: "bookworm", variant: "minbase" }),
  steps: [
    file("/etc/apt/apt.conf.d/90keep-downloads", KEEP_DEBS),
    run("apt-get update && apt-get install -y --no-install-recommends curl ca-certificates", {
      cache: ["/var/cache/apt", "/var/lib/apt/lists"],
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }),
  ],
});

/** The app on it: a later step that changes more often than the packages. */
export default defineRecipe({
  name: "debian-curl",
  base: packages,
  steps: [
    run("curl --version | head -n 1 > /etc/curl-version"),
    file("/etc/motd", "debian-curl: built by minic from recipes/debian-curl.ts\n"),
  ],
  config: { cmd: ["/usr/bin/curl", "--version"] },
});
