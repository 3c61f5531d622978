"""Exact search over stored embeddings: time per query and memory at 10⁴, 10⁵ and 10⁶ vectors.

``facetools find`` compares a photo's 128-d unit vector with every stored identity embedding (one
matrix product, then the calibrated threshold). This measures that on random unit vectors of the
same shape: one query at a time (a user's ``find``) and a batch of 64 (a gallery of many people),
float32, with the threshold test and the top-10 selection included. Memory is the matrix itself
(what must be resident) and the process's peak RSS. Prints a Markdown table.

Usage: python benchmarks/people_search.py [--sizes 10000 100000 1000000] [--dim 128] [--queries 200] [--batch 64] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from typing import Any

import numpy as np

THRESHOLD = 0.50848  # SFace's calibrated threshold (facetools/data/calibration.json); only the test's cost matters here


def unit_vectors(n: int, dim: int, rng: np.random.Generator, chunk: int = 100_000) -> np.ndarray:
    """``n`` random L2-normalised float32 rows, built in chunks to keep the peak near the result's size."""
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        block = rng.standard_normal((min(chunk, n - start), dim), dtype=np.float32)
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def search(index: np.ndarray, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine search: the matches under the threshold and the ``k`` nearest per query."""
    dist = 1.0 - queries @ index.T
    hits = dist < THRESHOLD
    nearest = np.argpartition(dist, k, axis=1)[:, :k]
    return hits, nearest


def measure(n: int, dim: int, queries: int, batch: int, rng: np.random.Generator) -> dict[str, Any]:
    index = unit_vectors(n, dim, rng)
    q = unit_vectors(queries, dim, rng)
    search(index, q[:1])  # warm up
    started = time.perf_counter()
    for i in range(queries):
        search(index, q[i : i + 1])
    single = (time.perf_counter() - started) / queries
    rounds = max(1, queries // batch)
    started = time.perf_counter()
    for r in range(rounds):
        search(index, q[(r * batch) % queries : (r * batch) % queries + batch])
    batched = (time.perf_counter() - started) / (rounds * batch)
    return {"vectors": n, "dim": dim, "index_mib": round(index.nbytes / 2**20, 1), "ms_per_query": round(single * 1e3, 3),
            f"ms_per_query_batch{batch}": round(batched * 1e3, 3),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = [measure(n, args.dim, args.queries, args.batch, rng) for n in sorted(args.sizes)]
    print(f"| vectors | index (MiB) | ms / query (one at a time) | ms / query (batches of {args.batch}) | peak RSS (MiB) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['vectors']:,} | {r['index_mib']} | {r['ms_per_query']} | {r[f'ms_per_query_batch{args.batch}']} | {r['peak_rss_mib']} |"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
