"""Reads `perf script` output (call graphs) on stdin and prints where the CPU time went, in buckets.

Each sample goes to the first bucket, in the order below, that matches any frame of its stack, so a
sample spent in malloc under the tracing formatter counts as logging. Used by bench/run.sh PROFILE=1.
"""

import re
import sys
from collections import Counter

BUCKETS = [
    ("logging: formatter, line buffers, stderr writes", r"tracing_subscriber::fmt|tiny_opentok_server::log(ging|_writer)|std::io::stdio|StderrLock|Stderr as"),
    ("kernel: loopback TCP, epoll and other syscalls", r"\[kernel\.kallsyms\]"),
    ("tracing spans and dispatch (#[instrument], TracingLogger)", r"tracing_subscriber|tracing_core|tracing::span|tracing_actix_web"),
    ("token and auth-JWT signing (HMAC-SHA1/SHA256, base64, JWT)", r"sha1|sha2|hmac|base64|jsonwebtoken|opentok_client::(sign|token|jwt)"),
    ("REST call to the mock (awc client)", r"awc::|actix_http::client|opentok_client::client::.*(create|interpret|post_)"),
    ("session store", r"tiny_opentok_storage"),
    ("request body and parameter parsing", r"tiny_opentok_server::params|serde_urlencoded"),
    ("JSON (serde_json, our response writer)", r"serde_json|tiny_opentok_server::json"),
    ("routing (actix-router regex)", r"regex_automata|actix_router"),
    ("our handlers and domain (rest)", r"tiny_opentok|opentok_client"),
    ("actix-http/actix-web/tokio (framework, I/O polling)", r"actix_|tokio::|mio::|futures_"),
    ("allocator (malloc/free)", r"malloc|_int_free|cfree|realloc|unlink_chunk"),
]


def symbol(frame):
    """`    55d0c1 tiny_opentok_server::routes::access::create_access+0x1f (/path)` -> the symbol."""
    parts = frame.split(None, 1)
    text = parts[1] if len(parts) > 1 else parts[0]
    text = re.sub(r" \(.*\)$", "", text)
    return re.sub(r"\+0x[0-9a-f]+$", "", text)[:140]


def main():
    compiled = [(name, re.compile(pattern)) for name, pattern in BUCKETS]
    counts = Counter()
    # Per bucket, the innermost frame that matched it: which function of that bucket costs the time.
    where = {name: Counter() for name, _ in BUCKETS}
    total = 0
    stack = []

    def flush():
        nonlocal total
        if not stack:
            return
        total += 1
        for name, rx in compiled:
            hit = next((frame for frame in stack if rx.search(frame)), None)
            if hit is not None:
                counts[name] += 1
                where[name][symbol(hit)] += 1
                return
        counts["other"] += 1

    for line in sys.stdin:
        if not line.strip():
            flush()
            stack = []
        elif line.startswith((" ", "\t")):
            stack.append(line.rstrip())
    flush()
    if not total:
        print("no samples")
        return
    print(f"{total} samples")
    for name, n in counts.most_common():
        print(f"{100 * n / total:5.1f}%  {name}")
    print()
    print("# innermost matching frame within each bucket (share of all samples)")
    for name, n in counts.most_common():
        if name == "other":
            continue
        print(f"{name}:")
        for sym, k in where[name].most_common(6):
            print(f"  {100 * k / total:5.1f}%  {sym}")


if __name__ == "__main__":
    main()
