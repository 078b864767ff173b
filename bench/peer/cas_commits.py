"""The peer benchmark's Python side: one writer making `commits` compare-and-set commits, round-robin over `keys` keys,
each with the version the previous commit returned, then checking every key's final version (no lost update).

  python cas_commits.py agent-coherence --db FILE --commits N --keys K
  python cas_commits.py fenced-client --url URL --commits N --keys K

agent-coherence: its own coordinator in this process (``CoordinatorService`` over ``SqliteArtifactRegistry``: SQLite
WAL, synchronous=NORMAL), ``commit_cas`` with the content and its hash, as its docs show for concurrent writers.
fenced-client: the fenced-state Python client over HTTP to ``fenced serve`` (keep-alive; every commit carries an opId).
Prints one JSON line: {"commits", "seconds", "rate", "lost"}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import uuid


def value(i: int) -> str:
    return json.dumps({"text": "x" * 100, "n": i})


def agent_coherence(db: str, commits: int, keys: int) -> dict[str, float]:
    from ccs.coordinator.service import CoordinatorService
    from ccs.coordinator.sqlite_registry import SqliteArtifactRegistry

    service = CoordinatorService(SqliteArtifactRegistry(db))
    agent = uuid.uuid4()
    artifacts = [service.register_artifact(name=f"bench/k{k}", content="null") for k in range(keys)]
    versions = [a.version for a in artifacts]
    start_versions = list(versions)
    t0 = time.perf_counter()
    for i in range(commits):
        k = i % keys
        content = value(i)
        result = service.commit_cas(
            agent_id=agent,
            artifact_id=artifacts[k].id,
            expected_version=versions[k],
            content_hash=hashlib.sha256(content.encode()).hexdigest(),
            content=content,
        )
        if not isinstance(result, tuple):
            raise SystemExit(f"unexpected conflict: {result}")
        versions[k] = result[0].version
    seconds = time.perf_counter() - t0
    final = [service.registry.get_artifact(a.id).version for a in artifacts]
    lost = sum(v - s for v, s in zip(versions, start_versions)) - sum(f - s for f, s in zip(final, start_versions))
    return {"commits": commits, "seconds": seconds, "rate": commits / seconds, "lost": lost}


def fenced_client(url: str, commits: int, keys: int) -> dict[str, float]:
    from fenced_state import Client, op

    client = Client(url)
    versions = [0] * keys
    t0 = time.perf_counter()
    for i in range(commits):
        k = i % keys
        versions[k] = client.commit(f"bench/k{k}", op.set(json.loads(value(i))), expect_version=versions[k]).version
    seconds = time.perf_counter() - t0
    final = [client.read(f"bench/k{k}").version for k in range(keys)]
    client.close()
    return {"commits": commits, "seconds": seconds, "rate": commits / seconds, "lost": sum(versions) - sum(final)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["agent-coherence", "fenced-client"])
    parser.add_argument("--db")
    parser.add_argument("--url")
    parser.add_argument("--commits", type=int, required=True)
    parser.add_argument("--keys", type=int, required=True)
    args = parser.parse_args()
    if args.mode == "agent-coherence":
        result = agent_coherence(args.db, args.commits, args.keys)
    else:
        result = fenced_client(args.url, args.commits, args.keys)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
