#!/usr/bin/env python3
"""Writes clients/testdata/replica_hash.json, the test vector of the replica
hash that the Python and the Go clients share (ShardedClient, DialSharded).

It computes the hash from its definition with hashlib alone, not with the
package, so that the vector checks the clients rather than repeats them:

    score(key, replica) = the first 8 bytes of
                          SHA-256(UTF-8(replica) || 0x00 || UTF-8(key)),
                          as a big-endian unsigned 64-bit integer
    owner(key, replicas) = the replica with the highest score; on a tie the
                           byte-wise smallest name

    python tools/gen_replica_hash.py           # rewrite the file
    python tools/gen_replica_hash.py --check   # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import sys
from typing import Any, Dict, List

OUT = pathlib.Path(__file__).resolve().parents[2] / "testdata" / "replica_hash.json"

HEADLESS = "tcpemu-{}.tcpemu-headless.default.svc.cluster.local:50051"
KEYS = [
    *(f"s-{i}" for i in range(20)),
    "exp-42",
    "",
    "a",
    "team/alpha:run 7",
    "ключ-λ",
    "nul\x00inside",
]


def score(key: str, replica: str) -> int:
    digest = hashlib.sha256(replica.encode() + b"\x00" + key.encode()).digest()
    return int.from_bytes(digest[:8], "big")


def owner(key: str, replicas: List[str]) -> str:
    best, best_score = "", -1
    for r in sorted(set(replicas), key=str.encode):  # a tie keeps the smaller name
        s = score(key, r)
        if s > best_score:
            best, best_score = r, s
    return best


def vector() -> Dict[str, Any]:
    target_lists = [
        [HEADLESS.format(0), HEADLESS.format(1)],
        [HEADLESS.format(0), HEADLESS.format(1), HEADLESS.format(2)],
        ["10.0.0.1:50051", "10.0.0.2:50051", "10.0.0.3:50051", "[fd00::4]:50051",
         "[fd00::5]:50051"],
        ["127.0.0.1:50051"],
    ]
    scores = [
        {"replica": r, "key": k, "score": f"{score(k, r):016x}"}
        for r, k in [
            ("b", "a"),
            (HEADLESS.format(0), "exp-42"),
            (HEADLESS.format(1), "exp-42"),
            ("10.0.0.1:50051", ""),
            ("[fd00::4]:50051", "ключ-λ"),
        ]
    ]
    return {
        "description": (
            "Test vector of the replica hash of the tcpemu clients (Python ShardedClient, "
            "Go DialSharded): rendezvous (highest-random-weight) hashing. Written by "
            "clients/python/tools/gen_replica_hash.py; read by both test suites."
        ),
        "hash": (
            "score(key, replica) = first 8 bytes of SHA-256(UTF-8(replica) || 0x00 || "
            "UTF-8(key)) as a big-endian uint64, in hex; owner(key, targets) = the target "
            "with the highest score, ties to the byte-wise smallest name; the order of "
            "targets does not matter and duplicates count once"
        ),
        "scores": scores,
        "cases": [
            {"targets": targets, "owners": {k: owner(k, targets) for k in KEYS}}
            for targets in target_lists
        ],
    }


def render() -> str:
    return json.dumps(vector(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not OUT.is_file() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run {sys.argv[0]}", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
