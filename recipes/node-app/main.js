// The app of recipes/node-app.ts: a greeting that uses its two npm dependencies (ms, picocolors).
"use strict";
const ms = require("ms");
const pc = require("picocolors");

const name = process.argv[2] || "world";
const uptime = ms(Math.round(process.uptime() * 1000) + 90 * 60 * 1000, { long: true });
console.log(`hello, ${pc.bold(name)} (node-app 1.0 on node ${process.versions.node}, user ${process.getuid()}, ${uptime})`);
