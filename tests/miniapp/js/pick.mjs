// Runs verify.js's pick/recompute on the JSON cases read from stdin; prints the results.
import { pick, recompute } from "../../../src/bozor/miniapp/static/verify.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cases = JSON.parse(Buffer.concat(chunks).toString());
const out = [];
for (const c of cases) out.push(c.proof ? await recompute(c.proof) : await pick(c));
process.stdout.write(JSON.stringify(out));
