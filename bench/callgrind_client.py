"""Sequential keep-alive client for bench/callgrind.sh: sends COUNT POST requests, one at a time, on
one connection, and asks callgrind for a dump of the server's counters at each checkpoint.

    python3 callgrind_client.py URL PATH BODY COUNT VALGRIND_PID LABEL DUMP_PREFIX CHECKPOINT...

Each dump is labelled LABEL-N (N: requests answered so far) and must appear as a new DUMP_PREFIX*
file: callgrind_control prints "OK" even when it reached no valgrind. The client stops at the first
answer that is not 201, at a timeout (30 s per request) or when a dump fails, and exits non-zero.
Prints `wall LABEL SECONDS` between the first and the last checkpoint, to see how long the window
took (timer-driven work in the server grows with it).
One connection for the whole run keeps connection set-up out of the measured window.
"""

import glob
import http.client
import subprocess
import sys
import time
import urllib.parse


def dump(pid, label, prefix):
    """Has callgrind write its counters, and waits until the file is there (at most 30 s)."""
    before = len(glob.glob(glob.escape(prefix) + "*"))
    done = subprocess.run(
        ["callgrind_control", f"--dump={label}", pid], capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        sys.exit(f"callgrind_control --dump={label} failed: {done.stdout} {done.stderr}")
    deadline = time.monotonic() + 30
    while len(glob.glob(glob.escape(prefix) + "*")) <= before:
        if time.monotonic() > deadline:
            sys.exit(f"no dump file for {label} ({prefix}*): {done.stdout} {done.stderr}")
        time.sleep(0.05)


def main():
    url, path, body, count, pid, label, prefix, *checkpoints = sys.argv[1:]
    count = int(count)
    checkpoints = sorted(int(c) for c in checkpoints)
    if not checkpoints or checkpoints[-1] > count:
        sys.exit(f"checkpoints must be given and at most {count}")
    u = urllib.parse.urlsplit(url)
    if u.hostname != "127.0.0.1":
        sys.exit(f"only 127.0.0.1 is allowed, not {u.hostname}")
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    headers = {"content-type": "application/json", "connection": "keep-alive"}
    data = body.encode()
    marks = []
    for n in range(1, count + 1):
        conn.request("POST", path, body=data, headers=headers)
        resp = conn.getresponse()
        answer = resp.read()
        if resp.status != 201:
            sys.exit(f"request {n} to {path}: {resp.status} {answer[:300]!r}")
        if n in checkpoints:
            before = time.monotonic()
            dump(pid, f"{label}-{n}", prefix)
            marks.append((before, time.monotonic()))
    conn.close()
    # From the end of the first dump to the start of the last: the measured requests only.
    print(f"wall {label} {marks[-1][0] - marks[0][1]:.3f}")


if __name__ == "__main__":
    main()
