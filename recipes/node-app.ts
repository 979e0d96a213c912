// A Node app built in a builder stage and shipped in a smaller image: the builder (Debian's node
// plus npm) installs the app's dependencies with `npm ci --omit=dev`, npm's cache a cache mount of
// the store, and runs the app's test; the final image is the same node base with /app alone, run
// by a user that is not root: no npm, no npm cache, no apt lists, no tests' leftovers.
// minic build recipes/node-app.ts && minic run node-app [-- node /app/main.js NAME]
// Behind a TLS-intercepting proxy (a CA of the host's own): add
//   --arg NPM_CA=yes --secret id=npm-ca,src=/etc/ssl/certs/ca-certificates.crt
// (npm reads the host's bundle at /run/secrets/npm-ca in that step only; it enters no layer).
import { arg, copy, debian, defineRecipe, file, from, run } from "minic";

/** The node base of both stages: Debian's minbase from debootstrap, with Debian's nodejs. */
export const node = defineRecipe({
  name: "node-app-base",
  base: debian({ suite: "bookworm", variant: "minbase", packages: ["nodejs"] }),
  steps: [],
});

/** apt keeps what it downloads, so that the cache mounts below serve a rebuild of the apt step. */
const KEEP_DEBS = 'Binary::apt::APT::Keep-Downloaded-Packages "true";\nAPT::Keep-Downloaded-Packages "true";\n';
/** Whether npm needs the CA bundle of the host (secret `npm-ca`) to reach the registry. */
const extraCa = arg("NPM_CA", "no") === "yes";

/** npm from Debian's archive, on the node base: a recipe of its own (its own layer), so that a change of the app builds only the stage below. */
export const npm = defineRecipe({
  name: "node-app-npm",
  base: node,
  steps: [
    file("/etc/apt/apt.conf.d/90keep-downloads", KEEP_DEBS),
    run("apt-get update && apt-get install -y --no-install-recommends npm ca-certificates", {
      cache: ["/var/cache/apt", "/var/lib/apt/lists"],
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }),
  ],
});

/** The builder stage: the app's locked dependencies (npm's cache a cache mount), its source, its test. Only /app is taken from it. */
export const builder = defineRecipe({
  name: "node-app-builder",
  base: npm,
  steps: [
    copy(["node-app/package.json", "node-app/package-lock.json"], "/app"),
    run("npm ci --omit=dev --no-audit --no-fund --loglevel=http", {
      workdir: "/app",
      cache: ["/root/.npm"],
      env: extraCa ? { NODE_EXTRA_CA_CERTS: "/run/secrets/npm-ca" } : {},
      secrets: extraCa ? ["npm-ca"] : [],
    }),
    copy("node-app/main.js", "/app"),
    copy("node-app/test.js", "/build"),
    run("node /build/test.js /app"),
  ],
});

/** The shipped image: the node base, the app's tree from the builder, a user of its own. */
export default defineRecipe({
  name: "node-app",
  base: node,
  steps: [
    run("useradd --system --home-dir /app --no-create-home --shell /usr/sbin/nologin app"),
    copy(from(builder, "/app"), "/app"),
  ],
  config: { cmd: ["node", "/app/main.js"], user: "app", workdir: "/app" },
});
