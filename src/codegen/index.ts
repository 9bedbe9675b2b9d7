/**
 * Code fingerprints (`memopipe fingerprint`): ts-morph reads the project, finds every
 * `stage("name", fn)` call and hashes `fn` with the project code it transitively uses.
 *
 * Not part of the library's main entry (`src/index.ts`): it loads TypeScript, which must stay
 * out of users' run-time bundles. The CLI imports it lazily; the runtime only reads the generated
 * JSON through `./generated.ts`.
 *
 * @example
 * const { fingerprintProject, checkFingerprints } = await import("./codegen/index.js");
 * await fingerprintProject({ project: "tsconfig.json" });
 * const check = await checkFingerprints({ project: "tsconfig.json" }); // check.ok === true
 */
export { fingerprintProject, checkFingerprints, readFingerprintFile, combine, type FingerprintOptions, type FingerprintCheck } from "./fingerprint.js";
export { FINGERPRINTS_FILE, FINGERPRINTS_ENV, type FingerprintFile, type StageFingerprint } from "./generated.js";
export { normalizedText } from "./normalize.js";
