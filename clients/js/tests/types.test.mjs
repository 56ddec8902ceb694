// The client's types (src/openapi.ts) are what the running Bozor's /openapi.json says:
// after an API change, `npm run generate` (with BOZOR_URL) refreshes them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { CLIENT_PATHS, typesFor } from "../scripts/openapi.mjs";
import { BOZOR_URL, live } from "./live.mjs";

test("src/openapi.ts matches the served OpenAPI document", { skip: live }, async () => {
  const spec = await (await fetch(`${BOZOR_URL}/openapi.json`)).json();
  const committed = readFileSync(new URL("../src/openapi.ts", import.meta.url), "utf8");
  const served = await typesFor(spec);
  assert.ok(
    committed === served,
    "clients/js/src/openapi.ts is out of date with the API: run `BOZOR_URL=<a running Bozor> npm run generate` in clients/js (e.g. against `bozor demo`), then check the client still builds",
  );
});

test("every path the client calls is typed", () => {
  const committed = readFileSync(new URL("../src/openapi.ts", import.meta.url), "utf8");
  for (const path of CLIENT_PATHS) assert.ok(committed.includes(`"${path}": {`), path);
});
