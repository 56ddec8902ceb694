// npm run generate: src/openapi.ts from a running Bozor (BOZOR_URL, default
// http://127.0.0.1:8080) or from a saved document (npm run generate -- openapi.json).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { typesFor } from "./openapi.mjs";

const source = process.argv[2];
const url = `${(process.env.BOZOR_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "")}/openapi.json`;
const spec = source
  ? JSON.parse(readFileSync(source, "utf8"))
  : await fetch(url).then((r) => {
      if (!r.ok) throw new Error(`${url}: ${r.status}`);
      return r.json();
    });
const target = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "openapi.ts");
writeFileSync(target, await typesFor(spec));
console.log(`wrote ${target}`);
