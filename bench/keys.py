#!/usr/bin/env python3
"""Key-management benchmark (the REST API at scale): create N keys through the REST API, then list and search
them. Not a test: it prints figures. Needs a release build (scripts/build --release), or another
build in PORTCULLIS_BIN.

    bench/keys.py [--keys 100000] [--threads 8] [--database-url postgres://...]

Every figure comes with a baseline measured in the same run (GET /health on the same server),
so runs on different machines can be compared as ratios.
"""
import http.client, json, statistics, threading, time

import benchlib


def request(conn, method, path, body=None, headers=None):
    h = {"Content-Type": "application/json", **(headers or {})}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status >= 400:
        raise RuntimeError(f"{method} {path}: {resp.status} {data[:200]!r}")
    return json.loads(data) if data else None


def timed(port, path, headers, n):
    """Median and p99 latency (ms) of n sequential GETs over one connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        request(conn, "GET", path, headers=headers)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main():
    args = benchlib.arguments(keys=100_000, port=3950)

    binary, data, env, setup = benchlib.prepare(args, "/bench/")
    server = None
    try:
        cred, api = setup["credential"], setup["api_id"]
        server = benchlib.start(binary, env, args.port)
        auth = {"Authorization": cred}

        hashes = [None] * args.keys
        def create(start):
            c = http.client.HTTPConnection("127.0.0.1", args.port)
            for i in range(start, args.keys, args.threads):
                body = {"alias": f"bench-{i}", "rate": 100, "per": 1, "tags": [f"t{i % 10}"],
                        "access_rights": {api: {"api_id": api, "versions": []}}}
                hashes[i] = request(c, "POST", "/api/keys", body, auth)["key_hash"]
        t = time.perf_counter()
        workers = [threading.Thread(target=create, args=(s,)) for s in range(args.threads)]
        for w in workers: w.start()
        for w in workers: w.join()
        elapsed = time.perf_counter() - t
        print(f"created {args.keys} keys in {elapsed:.1f} s: {args.keys / elapsed:.0f} keys/s ({args.threads} client threads)")

        base, base99 = timed(args.port, "/health", {}, 300)
        print(f"baseline GET /health: median {base:.3f} ms, p99 {base99:.3f} ms")
        last = (args.keys + 9) // 10
        cases = [
            ("list, first page", "/api/apis/keys?p=1"),
            ("list, middle page", f"/api/apis/keys?p={last // 2}"),
            ("list, last page", f"/api/apis/keys?p={last}"),
            ("list by API", f"/api/apis/{api}/keys?p=1"),
            ("filter by tag", "/api/apis/keys?tag=t3&p=1"),
            ("filter by alias", f"/api/apis/keys?alias=bench-{len(hashes) // 2}&p=1"),
            ("search hash substring", f"/api/apis/{api}/keys/search?q={hashes[len(hashes) // 3][:12]}"),
            ("detailed, first page", "/api/keys/detailed?p=1"),
            ("get one key by hash", f"/api/keys/{hashes[len(hashes) // 2]}?hashed=true"),
        ]
        print(f"{'operation':28} {'median ms':>10} {'p99 ms':>8} {'x health':>9}")
        for name, path in cases:
            med, p99 = timed(args.port, path, auth, 100)
            print(f"{name:28} {med:10.2f} {p99:8.2f} {med / base:9.1f}")
    finally:
        benchlib.stop(server, data)


if __name__ == "__main__":
    main()
