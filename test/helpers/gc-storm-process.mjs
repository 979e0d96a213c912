// A storm of gcs on one store: `minic gc`, the real command of the built CLI (dist/bundle, what
// bin/minic runs), run back to back in this one process while told to, so that gc's mark and
// sweep cover nearly every moment of the commands racing it (a `minic gc` process spends ~200 ms
// starting Node for a few ms of gc, and would hit a window of a few ms only by luck).
// usage: node gc-storm-process.mjs STORE, with a pipe on fd 3. stdin lines: "go" starts the storm
// (answered "going" on fd 3), "stop" ends it (answered "GCS FAILURES"). gc's own report goes to
// stdout, the failures' messages to stderr.
import { writeSync } from "node:fs";
import { createInterface } from "node:readline";

const store = process.argv[2];
const { run } = await import(new URL("../../dist/bundle/entry.js", import.meta.url));
process.setMaxListeners(0); // each gc registers its SIGINT/SIGTERM forwarders
const reply = (line) => writeSync(3, line + "\n");

let running = false;
let loop = Promise.resolve();
let gcs = 0;
let failures = 0;
createInterface({ input: process.stdin }).on("line", async (line) => {
  if (line === "go" && !running) {
    running = true;
    gcs = 0;
    failures = 0;
    loop = (async () => {
      while (running) {
        const code = await run(["gc", "--json", "--store", store]);
        gcs++;
        if (code !== 0) failures++;
      }
    })();
    reply("going");
  } else if (line === "stop") {
    running = false;
    await loop;
    reply(`${gcs} ${failures}`);
  }
}).on("close", () => {
  running = false;
  void loop.then(() => process.exit(0));
});
reply("ready");
