/**
 * `npm run bench`: every benchmark, each printing ratios against a baseline measured in the same
 * run, then a summary. Figures go to bench/.out/*.json; the README quotes the latest.
 */
import { main as runtime } from "./runtime.js";
import { main as typeCost } from "./type-cost.js";

const started = Date.now();
console.log("== run time: a built pipeline vs hand-written code, remeda and Effect ==");
await runtime();
console.log("\n== compile time: the pipe() builder types on TypeScript 6 and 7 ==");
await typeCost();
console.log(`\nbenchmarks done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
