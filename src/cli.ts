#!/usr/bin/env node
/**
 * The `memopipe` command line. Commands are added by the features that need them (cache,
 * fingerprints, reports); `--help` lists what this version has.
 */
import { Command } from "commander";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { version } = require("../package.json") as { version: string };

const program = new Command()
  .name("memopipe")
  .description("Typed data pipelines: tools for memopipe projects")
  .version(version);

program.parse();
