// "Verify it yourself": the draw's winners recomputed in the browser from the published data,
// by the algorithm of lotteries/fairness.py (docs/lotteries.md) that `bozor lottery verify` runs.
const enc = new TextEncoder();
const SPACE = 1n << 256n;

const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

export async function sha256Hex(text) {
  return hex(await crypto.subtle.digest("SHA-256", enc.encode(text)));
}

// Winners of `places` (ascending) among `count` participants, skipping the indices in `taken`:
// [{place, index}], as fairness.pick.
export async function pick({ seed, participantsHash, count, places, external, round, taken }) {
  const excluded = new Set(taken || []);
  const picks = [];
  if (count <= 0) return picks;
  const key = await crypto.subtle.importKey("raw", enc.encode(seed), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const n = BigInt(count);
  const limit = SPACE - (SPACE % n);
  for (const place of [...places].sort((a, b) => a - b)) {
    if (excluded.size >= count) break;
    for (let counter = 0; ; counter += 1) {
      const message = `bozor-lottery-v1|${participantsHash}|${external || ""}|${round}|${place}|${counter}`;
      const value = BigInt(`0x${hex(await crypto.subtle.sign("HMAC", key, enc.encode(message)))}`);
      if (value >= limit) continue;
      const index = Number(value % n);
      if (excluded.has(index)) continue;
      excluded.add(index);
      picks.push({ place, index });
      break;
    }
  }
  return picks;
}

// Every round as draws.verify replays it: round 0 fills every prize place, a redraw round the
// places redrawn in it; the recorded winners of a round are excluded from the later ones.
// Returns {seedOk, rows: [{round, place, expected, recorded, number, ok}], ok}.
export async function recompute(proof) {
  const seedOk = (await sha256Hex(proof.seed)) === proof.seed_hash;
  const rounds = [...new Set([0, ...proof.wins.map((w) => w.round)])].sort((a, b) => a - b);
  const taken = new Set();
  const rows = [];
  for (const round of rounds) {
    const recorded = proof.wins.filter((w) => w.round === round);
    const places = round === 0 ? proof.places : recorded.map((w) => w.place);
    const picks = await pick({
      seed: proof.seed, participantsHash: proof.participants_hash, count: proof.count,
      places, external: proof.external, round, taken,
    });
    for (const p of picks) {
      taken.add(p.index);
      const win = recorded.find((w) => w.place === p.place);
      rows.push({
        round, place: p.place, expected: p.index, recorded: win ? win.position : null,
        number: win ? win.number : null, ok: !!win && win.position === p.index,
      });
    }
    for (const win of recorded) {
      if (win.position !== null) taken.add(win.position);
      if (!picks.some((p) => p.place === win.place)) {
        rows.push({ round, place: win.place, expected: null, recorded: win.position, number: win.number, ok: false });
      }
    }
  }
  return { seedOk, rows, ok: seedOk && rows.every((r) => r.ok) };
}

export function mount(page, app) {
  const button = page.querySelector("[data-verify]");
  const out = page.querySelector("[data-verify-result]");
  if (!button || !out) return;
  const text = JSON.parse(page.querySelector("[data-verify-texts]").textContent);
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.textContent = text.working;
    try {
      const response = await app.request(button.dataset.verify);
      if (!response.ok) throw new Error(String(response.status));
      const result = await recompute(await response.json());
      out.innerHTML = "";
      const verdict = document.createElement("p");
      verdict.className = result.ok ? "good" : "bad";
      verdict.dataset.testid = "verdict";
      verdict.dataset.ok = String(result.ok);
      verdict.textContent = result.ok ? text.match : text.mismatch;
      out.appendChild(verdict);
      const seed = document.createElement("p");
      seed.textContent = result.seedOk ? text.seed_ok : text.seed_bad;
      out.appendChild(seed);
      const table = document.createElement("table");
      table.dataset.testid = "recomputed";
      const head = table.createTHead().insertRow();
      for (const label of [text.round, text.place, text.position, text.winner, ""]) {
        const th = document.createElement("th");
        th.scope = "col";
        th.textContent = label;
        head.appendChild(th);
      }
      const body = table.createTBody();
      for (const row of result.rows) {
        const tr = body.insertRow();
        tr.dataset.round = row.round;
        tr.dataset.place = row.place;
        tr.dataset.number = row.ok ? row.number : "";
        const cells = [row.round, row.place, row.expected === null ? "—" : row.expected + 1,
          row.number || "—", row.ok ? "✅" : `❌ ${text.recorded_at} ${row.recorded === null ? "—" : row.recorded + 1}`];
        for (const value of cells) tr.insertCell().textContent = String(value);
      }
      out.appendChild(table);
    } catch (e) {
      out.textContent = text.failed;
    } finally {
      button.disabled = false;
    }
  });
}
