#!/usr/bin/env node
// Entry point: the bundled CLI lives in dist/bundle/ (npm run build).
import { main } from "../dist/bundle/cli.js";

process.exitCode = await main(process.argv.slice(2));
