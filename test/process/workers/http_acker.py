"""A writer that commits THROUGH the coordinator with the real Python client and is SIGKILLed at random moments;
the coordinator may be SIGKILLed under it too. argv: <base_url> <key> <first_index>.

For i = first_index, first_index+1, …: commits ``increment(1)`` with op_id ``<key>#<i>``. The client itself resends
the same bytes after a connection error or 503 (a few times, with backoff); when it gives up with
``UnavailableError`` (the coordinator is still restarting) this loop calls it again with the same op_id. Only once the
commit has returned it prints ``{"ack": i, "version": v, "seq": s, "replayed": bool, "resends": n}`` (the ledger).
Any other error escapes and the process exits non-zero.
"""

import json
import sys

from fenced_state import Client, UnavailableError, op

base_url, key, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = Client(base_url, retries=5, timeout=10.0)
print(json.dumps({"ready": True}), flush=True)
i = first
while True:
    resends = 0
    while True:
        try:
            r = client.commit(key, op.increment(1), op_id=f"{key}#{i}")
            break
        except UnavailableError:
            resends += 1
    print(json.dumps({"ack": i, "version": r.version, "seq": r.seq, "replayed": r.replayed, "resends": resends}), flush=True)
    i += 1
