/**
 * The property `memorizable(f, { allowIngest })` sets on the function it returns. Its type carries
 * the flag to the builder (`AllowIngestTag`); at run time the builder reads it to refuse an ingest
 * that plain JavaScript (or `any`) let through.
 */
export const ALLOW_INGEST: unique symbol = Symbol.for("memopipe.allowIngest");
