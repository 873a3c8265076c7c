#!/usr/bin/env python3
"""Bulk key creation against one key per request: creates N keys through POST /api/keys (8
client threads), then N through POST /api/keys/bulk (one JSON lines request per --chunk keys),
then N through `portcullis keys import`, and prints keys/s for each. Not a test: it prints
figures. Needs a build of the binary (release: scripts/build --release; or PORTCULLIS_BIN).

    bench/bulk.py [--keys 10000] [--threads 8] [--chunk 10000] [--database-url postgres://...]
"""
import http.client, json, os, subprocess, sys, threading, time

import benchlib
from benchlib import ROOT


def request(conn, method, path, body, headers, content_type="application/json"):
    conn.request(method, path, body=body, headers={"Content-Type": content_type, **headers})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status >= 400:
        raise RuntimeError(f"{method} {path}: {resp.status} {data[:200]!r}")
    return data


def main():
    chunk = lambda ap: ap.add_argument("--chunk", type=int, default=10_000, help="keys per bulk request")
    args = benchlib.arguments(keys=10_000, port=3960, extra=chunk)

    binary, data, env, setup = benchlib.prepare(args, "/bulk-bench/")
    server = None
    try:
        org, cred, api = setup["org_id"], setup["credential"], setup["api_id"]

        def body(i):
            return {"alias": f"bench-{i}", "rate": 100, "per": 1, "tags": [f"t{i % 10}"],
                    "access_rights": {api: {"api_id": api, "versions": []}}}

        # The command line first, on the storage alone (before the server holds it).
        path = os.path.join(data, "keys.jsonl")
        with open(path, "w") as f:
            for i in range(args.keys):
                f.write(json.dumps(body(3 * args.keys + i)) + "\n")
        t = time.perf_counter()
        done = subprocess.run([binary, "keys", "import", path, "--org", org], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - t
        if done.returncode != 0:
            sys.exit(f"import failed: {done.stderr[-500:]}")
        print(f"portcullis keys import:  {args.keys} keys in {elapsed:6.2f} s: {args.keys / elapsed:8.0f} keys/s (process start included)")

        server = benchlib.start(binary, env, args.port)
        auth = {"Authorization": cred}

        def one_by_one(start):
            c = http.client.HTTPConnection("127.0.0.1", args.port)
            for i in range(start, args.keys, args.threads):
                request(c, "POST", "/api/keys", json.dumps(body(i)), auth)
        t = time.perf_counter()
        workers = [threading.Thread(target=one_by_one, args=(s,)) for s in range(args.threads)]
        for w in workers: w.start()
        for w in workers: w.join()
        single = args.keys / (time.perf_counter() - t)
        print(f"POST /api/keys:          {args.keys} keys, {single:8.0f} keys/s ({args.threads} client threads)")

        c = http.client.HTTPConnection("127.0.0.1", args.port, timeout=600)
        t = time.perf_counter()
        created = 0
        for start in range(args.keys, 2 * args.keys, args.chunk):
            lines = "".join(json.dumps(body(i)) + "\n" for i in range(start, min(start + args.chunk, 2 * args.keys)))
            answer = request(c, "POST", "/api/keys/bulk", lines.encode(), auth, "application/x-ndjson")
            created += json.loads(answer.splitlines()[-1])["summary"]["created"]
        bulk = created / (time.perf_counter() - t)
        print(f"POST /api/keys/bulk:     {created} keys, {bulk:8.0f} keys/s ({args.chunk} lines a request): {bulk / single:.1f}x")
    finally:
        benchlib.stop(server, data)


if __name__ == "__main__":
    main()
