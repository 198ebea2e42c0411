"""Turns bench/out/run/runs.tsv, rss.tsv and bodies.tsv (written by bench/run.sh) into the markdown report.

Medians over rounds for every figure except errors (summed) and peak RSS (the process's VmHWM at the
end of its phase). Settings come from the environment that run.sh exports. With VONAGE set, also
anchor.tsv: openssl's rsa2048 signing rate per round (per CPU-second and per wall second), which
the RS256 access route is judged against.
"""

import csv
import os
import statistics
from collections import defaultdict

RUN = os.environ["RUN"]
HZ = int(os.environ["TICK_HZ"])
CONNS = int(os.environ["CONNS"])
LATENCY_MS = int(os.environ["LATENCY_MS"])
RSS_LIMIT_MIB = 32

SCENARIOS = {
    "access": f"POST /session/:id/access, {CONNS} conns",
    "session": f"POST /session, mock latency 0, {CONNS} conns",
    "session-lat": f"POST /session, mock latency {LATENCY_MS} ms, {CONNS} conns",
    "access-vonage": f"POST /session/:id/access, Vonage RS256, {CONNS} conns",
}
VONAGE = os.environ.get("VONAGE", "0")


def rows(name):
    with open(os.path.join(RUN, name), newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


runs = defaultdict(list)
# Sessions each server stored (warm-up runs included), to explain its memory.
stored = defaultdict(int)
for r in rows("runs.tsv"):
    if r["scenario"].startswith("session"):
        stored[(r["phase"], r["server"])] += int(r["requests"]) - int(r["status_err"])
    if r["round"] != "warmup":
        runs[(r["scenario"], r["server"])].append(r)
rss = defaultdict(dict)
for r in rows("rss.tsv"):
    if r["peak_rss_kib"]:
        rss[r["server"]][r["phase"]] = int(r["peak_rss_kib"]) / 1024
bodies = {(r["scenario"], r["server"]): r["bytes"] for r in rows("bodies.tsv")}
# openssl per round: signs per second of its user CPU time (what it prints), and per wall second.
anchor, anchor_wall = {}, {}
if VONAGE != "0":
    for r in rows("anchor.tsv"):
        anchor[r["round"]] = float(r["sign_per_s"])
        anchor_wall[r["round"]] = int(r["signs"]) / float(r["wall_s"])


def sv_pinned(server):
    """The servers under test run on the server core; the mock runs on the load core."""
    return server != "mock-direct"


def summary(scenario, server):
    rs = runs.get((scenario, server))
    if not rs:
        return None
    rps, p50, p99, cpu, score, lcore, others = [], [], [], [], [], [], []
    errors = requests = 0
    for r in rs:
        n = int(r["requests"])
        wall = int(r["wall_ns"]) / 1e9
        ticks = int(r["cpu_ticks"])
        rps.append(n / (int(r["duration_us"]) / 1e6))
        p50.append(int(r["p50_us"]) / 1000)
        p99.append(int(r["p99_us"]) / 1000)
        cpu.append(ticks * 1e6 / HZ / n if n else float("nan"))
        score.append(100 * ticks / HZ / wall)
        # What else ran on the server's core: its busy time minus the server's own CPU time.
        busy, core_total = int(r["core_busy_ticks"]), int(r["core_total_ticks"])
        if sv_pinned(server) and core_total:
            others.append(max(0.0, 100 * (busy - ticks) / core_total))
        lcore.append(100 * (float(r["loadgen_cpu_s"]) + int(r["mock_ticks"]) / HZ) / wall)
        errors += int(r["status_err"]) + int(r["socket_err"])
        requests += n
    phase = rs[0]["phase"]
    return {
        "rps": statistics.median(rps),
        "rounds": rps,
        "cpu_rounds": cpu,
        "round_ids": [r["round"] for r in rs],
        "p50": statistics.median(p50),
        "p99": statistics.median(p99),
        "cpu": statistics.median(cpu),
        "score": statistics.median(score),
        "lcore": statistics.median(lcore),
        "others": statistics.median(others) if others else None,
        "errors": errors,
        "requests": requests,
        "rss": rss.get(server, {}).get(phase),
    }


def fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


SERVERS = ("ours", "baseline", "ours-quiet", "peer", "floor", "mock-direct")
S = {(sc, sv): summary(sc, sv) for sc in SCENARIOS for sv in SERVERS}

lines = []
w = lines.append
w("## Results")
w("")
w(
    f"{os.environ['ROUNDS']} interleaved rounds of {os.environ['DURATION']} s per server and scenario; "
    f"medians over rounds (errors summed). "
    + (f"Token format `{os.environ['TOKEN_FORMAT']}` for ours and the peer (OpenTok phases); " if VONAGE != "only" else "")
    + ("RS256 with the Vonage test key (phase 4); " if VONAGE != "0" else "")
    + f"Commit `{os.environ['GIT_REV']}`; {os.environ['CORES']} x {os.environ['CPU_MODEL']}; "
    f"servers on core {os.environ['SERVER_CPU']}, wrk + mock on core {os.environ['LOAD_CPU']}."
)
w("")
w(
    "| scenario | server | req/s | p50 ms | p99 ms | errors / requests | CPU µs/req | server core % "
    "| others on its core % | load core % | peak RSS MiB | req/s per round |"
)
w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
for sc, title in SCENARIOS.items():
    for sv in SERVERS:
        s = S[(sc, sv)]
        if s is None:
            continue
        w(
            f"| {title} | {sv} | {s['rps']:.0f} | {s['p50']:.2f} | {s['p99']:.2f} | "
            f"{s['errors']} / {s['requests']} | {s['cpu']:.1f} | {s['score']:.0f} | {fmt(s['others'], '.0f')} | {s['lcore']:.0f} | "
            f"{fmt(s['rss'], '.1f')} | {' '.join(f'{x:.0f}' for x in s['rounds'])} |"
        )
w("")
w(
    "*CPU µs/req*: the server's utime+stime (all threads, /proc/PID/stat) over the run, divided by the "
    "requests completed. *server core %*: that CPU time over wall time (100 = its core was saturated). "
    "*others on its core %*: the rest of that core's busy time (/proc/stat), i.e. other processes on the machine: "
    "noise, which should be near 0. "
    "*load core %*: CPU of wrk plus the mock over wall time on the shared load core. *peak RSS*: VmHWM of "
    "the process at the end of that scenario's rounds; the same processes serve the access rounds, then the "
    "POST /session rounds (so the latter include the access peak and every session stored), and fresh ones the latency scenario."
)
w("")


def ratio(a, b, key="rps"):
    if a is None or b is None or not b[key]:
        return None
    return a[key] / b[key]


targets = []


def target(name, value, text, ok):
    targets.append((name, text if value is not None else "not measured", "n/a" if value is None else ("met" if ok else "MISSED")))


m_s, m_l = S[("session", "mock-direct")], S[("session-lat", "mock-direct")]
ceiling = CONNS / (LATENCY_MS / 1000) if LATENCY_MS else None
# VONAGE=only runs none of the OpenTok phases: their targets would all read "not measured".
if VONAGE != "only":
    a_o, a_p, a_f = S[("access", "ours")], S[("access", "peer")], S[("access", "floor")]
    s_o, s_p = S[("session", "ours")], S[("session", "peer")]
    l_o, l_p = S[("session-lat", "ours")], S[("session-lat", "peer")]

    r = ratio(a_o, a_f)
    target("access: ≥ 90% of floor req/s", r, f"{fmt(r and 100 * r, '.1f')}% ({fmt(a_o and a_o['rps'], '.0f')} vs {fmt(a_f and a_f['rps'], '.0f')})", r is not None and r >= 0.9)
    r = ratio(a_o, a_f, "cpu")
    target("access: CPU/request ≤ 1.3x floor's", r, f"{fmt(r, '.2f')}x ({fmt(a_o and a_o['cpu'], '.1f')} vs {fmt(a_f and a_f['cpu'], '.1f')} µs)", r is not None and r <= 1.3)
    r = ratio(a_o, a_p)
    target("access: ≥ 5x peer req/s", r, f"{fmt(r, '.2f')}x ({fmt(a_o and a_o['rps'], '.0f')} vs {fmt(a_p and a_p['rps'], '.0f')})", r is not None and r >= 5)
    p = a_o and a_o["p99"]
    target(f"access: p99 ≤ 5 ms at {CONNS} conns", p, f"{fmt(p, '.2f')} ms", p is not None and p <= 5)
    r = ratio(s_o, s_p)
    target("POST /session, no latency: ≥ 8x peer req/s", r, f"{fmt(r, '.2f')}x ({fmt(s_o and s_o['rps'], '.0f')} vs {fmt(s_p and s_p['rps'], '.0f')})", r is not None and r >= 8)
    r = l_o and ceiling and l_o["rps"] / ceiling
    target(
        f"POST /session, {LATENCY_MS} ms latency: ≥ 95% of {fmt(ceiling, '.0f')} req/s",
        r,
        f"{fmt(r and 100 * r, '.1f')}% ({fmt(l_o and l_o['rps'], '.0f')} req/s; peer {fmt(l_p and l_p['rps'], '.0f')})",
        r is not None and r >= 0.95,
    )
    # Phases 1 to 3 (OpenTok credentials); phase 4 has its own processes.
    peak = max((v for ph, v in rss.get("ours", {}).items() if ph != "4"), default=None)
    target(f"peak RSS of ours ≤ {RSS_LIMIT_MIB} MiB", peak, f"{fmt(peak, '.1f')} MiB", peak is not None and peak <= RSS_LIMIT_MIB)


def rounds_of(summary_, key="rounds"):
    return dict(zip(summary_["round_ids"], summary_[key])) if summary_ else {}


def spread(values):
    return f"{min(values):.2f}-{max(values):.2f}" if values else "n/a"


v_o, v_p = S[("access-vonage", "ours")], S[("access-vonage", "peer")]
if VONAGE != "0":
    # Per core, the cost of CPU time: 1e6 / (CPU µs per request) against openssl's signs per
    # CPU-second; neighbours on the core barely move either. Per wall second, both lose what the
    # neighbours take, so each round's ratio is taken within the round.
    sign = statistics.median(anchor.values()) if anchor else None
    sign_wall = statistics.median(anchor_wall.values()) if anchor_wall else None
    p_rps = rounds_of(v_p)

    def vs_openssl(s_):
        rs = rounds_of(s_)
        cpu = {k: 1e6 / v for k, v in rounds_of(s_, "cpu_rounds").items() if v}
        per_cpu = [cpu[k] / anchor[k] for k in cpu if k in anchor]
        per_wall = [rs[k] / anchor_wall[k] for k in rs if k in anchor_wall]
        return per_cpu, per_wall

    def med(values):
        return statistics.median(values) if values else None

    o_cpu_r, o_wall_r = vs_openssl(v_o)
    r_peer = [x / p_rps[k] for k, x in rounds_of(v_o).items() if p_rps.get(k)]
    r_peer_cpu = []
    if v_o and v_p:
        pc = rounds_of(v_p, "cpu_rounds")
        r_peer_cpu = [pc[k] / x for k, x in rounds_of(v_o, "cpu_rounds").items() if pc.get(k) and x]
    ssl_ratio = med(o_cpu_r)
    peer_ratio = ratio(v_o, v_p)
    w("## Vonage (RS256) access route")
    w("")
    w(
        "| | per CPU-second | vs openssl (min-max over rounds) | req/s (wall) | vs openssl wall (min-max) "
        "| vs peer req/s (min-max) | vs peer CPU/req (min-max) | p99 ms |"
    )
    w("| --- | ---: | --- | ---: | --- | --- | --- | ---: |")
    if sign:
        w(
            f"| openssl speed rsa2048 | {sign:.0f} sign/s | rounds {' '.join(f'{anchor[k]:.0f}' for k in sorted(anchor))} "
            f"| {sign_wall:.0f} sign/s | rounds {' '.join(f'{anchor_wall[k]:.0f}' for k in sorted(anchor_wall))} | | | |"
        )
    for name, s_ in (("ours", v_o), ("peer", v_p)):
        if not s_:
            continue
        per_cpu, per_wall = vs_openssl(s_)
        vs_peer = vs_peer_cpu = ""
        if name == "ours" and v_p:
            vs_peer = f"{peer_ratio:.2f} ({spread(r_peer)})"
            vs_peer_cpu = f"{v_p['cpu'] / s_['cpu']:.2f} ({spread(r_peer_cpu)})"
        w(
            f"| {name} | {1e6 / s_['cpu']:.0f} req/s | {fmt(med(per_cpu), '.2f')} ({spread(per_cpu)}) "
            f"| {s_['rps']:.0f} | {fmt(med(per_wall), '.2f')} ({spread(per_wall)}) "
            f"| {vs_peer} | {vs_peer_cpu} | {s_['p99']:.2f} |"
        )
    w("")
    w(
        "*per CPU-second*: 1e6 / the server's CPU µs per request, i.e. req/s per core fully its own; openssl's "
        "sign/s as `openssl speed` prints it, per second of its user CPU time. *req/s (wall)*: the server pinned "
        f"to core {os.environ['SERVER_CPU']} (WORKERS=1 for ours; Node is one event loop); openssl's wall rate is "
        "the signatures it made in its 3 s. openssl runs on the same core after the servers in each round; every "
        "ratio is taken within a round, and the range over rounds is the run's spread. *vs peer CPU/req*: the "
        "peer's CPU per request over ours (above 1: ours is cheaper)."
    )
    w("")
    target(
        "Vonage access: ≥ 0.85x openssl rsa2048 sign/s per core",
        ssl_ratio,
        f"{fmt(ssl_ratio, '.2f')}x per CPU-second ({fmt(v_o and 1e6 / v_o['cpu'], '.0f')} vs {fmt(sign, '.0f')}/s; "
        f"rounds {spread(o_cpu_r)}); wall {fmt(med(o_wall_r), '.2f')}x ({spread(o_wall_r)})",
        ssl_ratio is not None and ssl_ratio >= 0.85 and (med(o_wall_r) or 0) >= 0.85,
    )
    target(
        "Vonage access: ≥ 1.5x the @vonage/video peer's req/s",
        peer_ratio,
        f"{fmt(peer_ratio, '.2f')}x ({fmt(v_o and v_o['rps'], '.0f')} vs {fmt(v_p and v_p['rps'], '.0f')}; rounds {spread(r_peer)})",
        peer_ratio is not None and peer_ratio >= 1.5,
    )

def per_round_ratios(a, b, key):
    """ours/baseline in each round: the two ran next to each other in it, so drift hits both alike."""
    pb = dict(zip(b["round_ids"], b[key]))
    return [x / pb[rid] for rid, x in zip(a["round_ids"], a[key]) if pb.get(rid)]


if any(S[(sc, "baseline")] for sc in SCENARIOS):
    w("## Ours against the baseline")
    w("")
    w(f"Baseline: `{os.environ.get('BASELINE_DESC', '')}`, run as *ours* in the same rounds.")
    w("")
    w(
        "| scenario | CPU µs/req ours | baseline | ratio | per round (min-max) "
        "| req/s ours | baseline | ratio | per round (min-max) |"
    )
    w("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |")
    for sc, title in SCENARIOS.items():
        o, b = S[(sc, "ours")], S[(sc, "baseline")]
        if o is None or b is None:
            continue
        cells = []
        for key, rounds, spec in (("cpu", "cpu_rounds", ".1f"), ("rps", "rounds", ".0f")):
            pr = per_round_ratios(o, b, rounds)
            cells += [
                format(o[key], spec),
                format(b[key], spec),
                f"{o[key] / b[key]:.3f}" if b[key] else "n/a",
                f"{min(pr):.3f}-{max(pr):.3f}" if pr else "n/a",
            ]
        w(f"| {title} | " + " | ".join(cells) + " |")
    w("")
    w(
        "*ratio*: ours over the baseline, of the medians (CPU below 1 and req/s above 1 mean ours is "
        "cheaper). *per round*: the same ratio in each round, where the two ran one after the other; "
        "its range is the run's spread, and a difference inside it is not a difference."
    )
    w("")

w("## Targets")
w("")
w("| target | measured | verdict |")
w("| --- | --- | --- |")
for name, text, verdict in targets:
    w(f"| {name} | {text} | {verdict} |")
w("")
w("## Notes")
w("")
OPENTOK_RAN = VONAGE != "only"
if OPENTOK_RAN:
    w(
        "- *ours* is the server as shipped (log level info, which writes a line per request to stderr, here a file); "
        "*ours-quiet* is the same binary with RUST_LOG=warn, a diagnostic row only: the targets are judged on *ours*."
    )
w(
    f"- Whole measuring part: {os.environ['ELAPSED']} s. Load average before: {os.environ['LOAD_BEFORE']}; "
    f"after: {os.environ['LOAD_AFTER']} (anything else running on the machine shares these cores)."
)
if OPENTOK_RAN:
    w(
        "- *mock-direct* is wrk straight at the mock's POST /session/create (a valid auth JWT, the SDK form): "
        "the most any server in front of this mock can get on this rig"
        + (f"; {m_s['rps']:.0f} req/s with no latency" if m_s else "")
        + (f", {m_l['rps']:.0f} req/s ({100 * m_l['rps'] / ceiling:.1f}% of {ceiling:.0f}) with {LATENCY_MS} ms, p50 {m_l['p50']:.2f} ms" if m_l and ceiling else "")
        + ". Its CPU columns are the mock's, whose core it shares with wrk."
    )
for sv in ("ours", "baseline", "ours-quiet", "peer"):
    before, after, n = rss.get(sv, {}).get("1"), rss.get(sv, {}).get("2"), stored.get(("2", sv), 0)
    if before and after and n:
        w(
            f"- Memory of {sv}: {before:.1f} MiB peak over the access rounds, {after:.1f} MiB after storing "
            f"{n} sessions in the POST /session rounds: about {(after - before) * 1048576 / n:.0f} bytes per stored session."
        )
if OPENTOK_RAN:
    w(f"- Mock and the Node SDK: {os.environ['JTI_NOTE']}.")
    w(
        "- Access response bodies (bytes): "
        + ", ".join(f"{sv} {b}" for (sc, sv), b in sorted(bodies.items()) if sc == "access")
        + " (the floor serves a copy of ours)."
    )
if VONAGE != "0":
    w(
        "- Vonage access response bodies (bytes): "
        + ", ".join(f"{sv} {b}" for (sc, sv), b in sorted(bodies.items()) if sc == "access-vonage")
        + "; both RS256 JWTs from the same test key (crates/opentok-mock/tests/data)."
    )
for (sc, sv), s in S.items():
    if s and sv != "mock-direct" and s["lcore"] >= 90 and s["score"] < 90:
        w(
            f"- {sc}/{sv}: the load core was busy ({s['lcore']:.0f}%) while the server's core was not "
            f"({s['score']:.0f}%): this row is bounded by the load generator/mock, not by the server."
        )
    if s and s["others"] is not None and s["others"] >= 10:
        w(
            f"- {sc}/{sv}: other processes took {s['others']:.0f}% of its core during its runs; its req/s "
            "and latency may be understated (CPU µs/req is the steadier figure)."
        )
    if s and s["errors"]:
        w(f"- {sc}/{sv}: {s['errors']} errors out of {s['requests']} requests (see bench/out/run/wrk-*.txt).")
print("\n".join(lines))
