"""The Mini App's in-browser verification (static/verify.js) computes what fairness.pick and
draws.verify compute: run under Node on the same inputs."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bozor.lotteries import fairness

HERE = Path(__file__).parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def run_js(cases: list[dict[str, Any]]) -> list[Any]:
    node = shutil.which("node")
    if node is None:
        if IN_CI:
            pytest.fail("node is needed to test the Mini App's verification script")
        pytest.skip("node is not installed")
    done = subprocess.run(
        [node, "--experimental-detect-module", "--no-warnings", str(HERE / "js" / "pick.mjs")],
        input=json.dumps(cases).encode(),
        capture_output=True,
        timeout=120,
        check=True,
    )
    return list(json.loads(done.stdout))


def test_pick_matches_fairness_pick_on_random_draws() -> None:
    rng = random.Random(19)
    cases: list[dict[str, Any]] = []
    expected: list[list[dict[str, int]]] = []
    for i in range(40):
        count = rng.choice([1, 2, 3, 7, 10, 97, 1000, 123_457])
        places = rng.sample(range(1, 8), rng.randint(1, 5))
        taken = rng.sample(range(count), min(count - 1, rng.randint(0, 3))) if count > 1 else []
        seed = fairness.new_seed()
        digest = f"{i:064x}"
        external = rng.choice([None, "drand 4242: abcdef"])
        round_ = rng.randint(0, 2)
        cases.append(
            {
                "seed": seed,
                "participantsHash": digest,
                "count": count,
                "places": places,
                "external": external,
                "round": round_,
                "taken": taken,
            }
        )
        picks = fairness.pick(
            seed=seed,
            participants_hash=digest,
            count=count,
            places=places,
            external=external,
            round_=round_,
            taken=taken,
        )
        expected.append([{"place": p.place, "index": p.index} for p in picks])
    assert run_js(cases) == expected


def _proof(seed: str, count: int, wins: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "seed": seed,
        "seed_hash": fairness.seed_hash(seed),
        "participants_hash": "ab" * 32,
        "count": count,
        "external": None,
        "places": [1, 2, 3],
        "wins": wins,
    }


def test_recompute_replays_redraw_rounds_and_flags_a_changed_winner() -> None:
    seed, count, digest = fairness.new_seed(), 50, "ab" * 32
    first = fairness.pick(seed=seed, participants_hash=digest, count=count, places=[1, 2, 3])
    wins = [
        {"round": 0, "place": p.place, "position": p.index, "number": f"N{p.index}"} for p in first
    ]
    # Place 2 expired and was redrawn in round 1, excluding every earlier winner.
    redrawn = fairness.pick(
        seed=seed,
        participants_hash=digest,
        count=count,
        places=[2],
        round_=1,
        taken=[p.index for p in first],
    )
    wins.append({"round": 1, "place": 2, "position": redrawn[0].index, "number": "R"})
    forged: list[dict[str, Any]] = [dict(w) for w in wins]
    forged[0]["position"] = (int(forged[0]["position"]) + 1) % count
    bad_seed = _proof(seed, count, wins) | {"seed_hash": "00" * 32}
    good, changed, seedless = run_js(
        [
            {"proof": _proof(seed, count, wins)},
            {"proof": _proof(seed, count, forged)},
            {"proof": bad_seed},
        ]
    )
    assert good["ok"] and good["seedOk"] and len(good["rows"]) == 4
    assert not changed["ok"] and [r["ok"] for r in changed["rows"]].count(False) >= 1
    assert not seedless["ok"] and not seedless["seedOk"]
