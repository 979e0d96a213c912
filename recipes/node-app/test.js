// The builder stage's test of the app in directory argv[2]: runs its main.js and checks the greeting
// (exit 1 on a mismatch). It lives outside the app's directory, so the shipped image has no tests.
"use strict";
const { execFileSync } = require("child_process");
const app = process.argv[2] || __dirname;
const pc = require(require.resolve("picocolors", { paths: [app] }));
const out = execFileSync(process.execPath, [`${app}/main.js`, "test"], { encoding: "utf8" });
const want = `hello, ${pc.bold("test")} (node-app 1.0 on node N, user N, 2 hours)\n`;
if (out.replace(/node \d+\.\d+\.\d+, user \d+/, "node N, user N") !== want) {
  console.error(`unexpected output: ${JSON.stringify(out)}`);
  process.exit(1);
}
console.log("test: ok");
