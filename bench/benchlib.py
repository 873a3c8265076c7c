"""What the Python benchmarks share: finding the binary, the server's environment, provisioning
an organisation, user and API with `portcullis provision`, and starting and stopping the server."""
import argparse, http.client, json, os, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def binary():
    """The release build (or PORTCULLIS_BIN), or exit saying how to build it."""
    path = os.environ.get("PORTCULLIS_BIN") or os.path.join(
        os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release/portcullis")
    if not os.path.exists(path):
        sys.exit("build first: scripts/build --release (or set PORTCULLIS_BIN)")
    return path


def environment(port, data, database_url=None):
    """The server's variables: dashboard on `port`, gateway on `port + 1`, storage in `data`."""
    env = dict(os.environ, PORTCULLIS_LISTEN=f"127.0.0.1:{port}", PORTCULLIS_GATEWAY_LISTEN=f"127.0.0.1:{port + 1}",
               PORTCULLIS_DATA_DIR=data, PORTCULLIS_BCRYPT_COST="4", RUST_LOG="warn",
               PORTCULLIS_UPSTREAM_ALLOW="127.0.0.0/8")
    if database_url:
        env["PORTCULLIS_DATABASE_URL"] = database_url
    return env


def provision(bin_path, env, listen_path):
    """An organisation, its user and an API, made before the server starts (as bench/cluster.sh
    and the process tests do); returns what `portcullis provision` prints."""
    setup = subprocess.run([bin_path, "provision", "--name", "Bench", "--listen-path", listen_path,
                            "--target-url", "http://127.0.0.1:9"], cwd=ROOT, env=env, capture_output=True, text=True)
    if setup.returncode != 0:
        sys.exit(f"portcullis provision failed: {setup.stderr}")
    return json.loads(setup.stdout)


def start(bin_path, env, port):
    """Starts `portcullis serve` and waits until it answers."""
    server = subprocess.Popen([bin_path, "serve"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port)
            conn.request("GET", "/health")
            conn.getresponse().read()
            break
        except OSError:
            time.sleep(0.1)
    return server


def stop(server, data):
    if server:
        server.terminate()
        server.wait()
    shutil.rmtree(data, ignore_errors=True)


def arguments(keys, port, extra=None):
    """The options every Python benchmark takes (`extra` adds its own), parsed."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=keys)
    ap.add_argument("--threads", type=int, default=8, help="client threads for one-by-one requests")
    ap.add_argument("--port", type=int, default=port, help="the dashboard's port (the gateway's is the next)")
    ap.add_argument("--database-url", help="postgres://... (default: SQLite in a temporary folder)")
    if extra:
        extra(ap)
    return ap.parse_args()



def prepare(args, listen_path):
    """The binary, a temporary data folder, the server's environment, and what provisioning an
    organisation, user and API at `listen_path` printed."""
    bin_path = binary()
    data = tempfile.mkdtemp(prefix="portcullis-bench-")
    env = environment(args.port, data, args.database_url)
    return bin_path, data, env, provision(bin_path, env, listen_path)
