"""Reads the callgrind dumps that bench/callgrind.sh collected and prints instructions per request.

    python3 callgrind_report.py RUN_DIR FIRST LAST NAME-N=OUT_PREFIX...

NAME is new or baseline, N the process's number. Each dump file holds the instructions (Ir) of all
the server's threads since the previous dump (or the start), so the count at a checkpoint is the sum
of the dumps up to and including the one that checkpoint triggered. Per request: (Ir at LAST - Ir at
FIRST) / (LAST - FIRST), for each process; the table gives the median over a binary's processes and
their range. Prints markdown; the settings for its header come from the environment that
callgrind.sh exports.
"""

import glob
import os
import re
import statistics
import sys
from collections import defaultdict

ROUTES = (("access", "POST /session/{id}/access"), ("session", "POST /session"))


def dumps(prefix):
    """(part, trigger, totals) of every dump file of one server process, in order."""
    parts = []
    for path in glob.glob(glob.escape(prefix) + "*"):
        part, trigger, totals = 0, "", None
        with open(path) as f:
            for line in f:
                if line.startswith("part:"):
                    part = int(line.split()[1])
                elif line.startswith("desc: Trigger:"):
                    trigger = line.split(":", 2)[2].strip()
                elif line.startswith("totals:"):  # the last line of the file
                    totals = int(line.split()[1])
        if totals is None:
            sys.exit(f"{path}: no totals line")
        parts.append((part, trigger, totals))
    return sorted(parts)


def per_request(prefix, first, last):
    cumulative, at = 0, {}
    for _, trigger, totals in dumps(prefix):
        cumulative += totals
        m = re.fullmatch(r"dump (\w+)-(\d+)", trigger)
        if m:
            at[(m.group(1), int(m.group(2)))] = cumulative
    out = {}
    for route, _ in ROUTES:
        if (route, first) not in at or (route, last) not in at:
            sys.exit(f"{prefix}: no dump for {route} at {first} and {last} (got {sorted(at)})")
        out[route] = (at[(route, last)] - at[(route, first)]) / (last - first)
    return out


def walls(run, name):
    """Seconds of each route's measured window, as the client printed them."""
    out = {}
    with open(os.path.join(run, f"{name}.wall")) as f:
        for line in f:
            _, route, secs = line.split()
            out[route] = float(secs)
    return out


def main():
    run, first, last, *specs = sys.argv[1:]
    first, last = int(first), int(last)
    figures = defaultdict(lambda: defaultdict(list))  # binary -> route -> [Ir/request per process]
    details = []
    for spec in specs:
        name, prefix = spec.split("=", 1)
        binary = name.rsplit("-", 1)[0]
        got, wall = per_request(os.path.join(run, prefix), first, last), walls(run, name)
        for route, _ in ROUTES:
            figures[binary][route].append(got[route])
        details.append(
            f"{name}: "
            + ", ".join(f"{route} {got[route]:,.0f} ({wall[route]:.1f} s)" for route, _ in ROUTES)
        )
    med = {b: {r: statistics.median(v) for r, v in routes.items()} for b, routes in figures.items()}
    new, base = med["new"], med.get("baseline")

    def cell(binary, route):
        v = figures[binary][route]
        m = statistics.median(v)
        return f"{m:,.0f} (±{50 * (max(v) - min(v)) / m:.2f}%)" if len(v) > 1 else f"{m:,.0f}"

    e = os.environ
    lines = [
        "## Instructions per request (callgrind)",
        "",
        f"`bench/callgrind.sh`, {e['STAMP']}, work tree at `{e['GIT_REV']}`; {e['VG_VERSION']}. "
        f"The server under `valgrind --tool=callgrind` with one worker and the shipped log level "
        f"(RUST_LOG unset: info, logs to a file), against opentok-mock with no latency; {last} "
        f"sequential requests per route on one keep-alive connection, "
        f"(Ir after {last} - Ir after {first}) / {last - first}, all threads. "
        f"Median over {e['REPEAT']} processes per binary; ± is half their range.",
        "",
        "| route | Ir/request new | baseline | ratio new/baseline |",
        "| --- | ---: | ---: | ---: |",
    ]
    for route, title in ROUTES:
        lines.append(
            f"| {title} | {cell('new', route)} | {cell('baseline', route) if base else 'n/a'} | "
            f"{f'{new[route] / base[route]:.4f}' if base else 'n/a'} |"
        )
    lines += ["", f"- new: `{e['NEW_DESC']}`"]
    if base:
        lines.append(f"- baseline: `{e['BASE_DESC']}`")
    lines.append("- each process, Ir/request (seconds of its window): " + "; ".join(details))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
