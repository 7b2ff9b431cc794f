# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# The report of tests/bench/bench_storage, sourced by it at its end: the tables of
# rates, ratios, the backlog drain, retention and CPU time per event, from its arrays
# (RATE, NOTE, CPU, RSS, DRAIN_CPU, DRAIN_PG, RET_WORST, RET_DELETED), then the
# machine, the servers, the build and the command that reproduces the run.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-";
                                     else printf "%.2f", a / b }'
}
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
printf '\nrheinhub storage benchmark: %d sensor.waterlevel events per run, 10 subjects\n\n' \
    "$EVENTS"
printf '%-4s  %10s' qos "hub ev/s"
for b in "${BACKENDS[@]}"; do
    printf '  %12s  %5s' "$b ev/s" ratio
done
printf '\n'
for qos in "${QOS_LEVELS[@]}"; do
    printf '%-4s  %10s' "$qos" "${RATE[hub,$qos]}"
    for b in "${BACKENDS[@]}"; do
        printf '  %12s  %5s' "${RATE[$b,$qos]}" "$(ratio "${RATE[$b,$qos]}" "${RATE[hub,$qos]}")"
    done
    printf '\n'
done
for key in "${!NOTE[@]}"; do
    printf 'note (%s): %s\n' "$key" "${NOTE[$key]}"
done
if ((BACKLOG > 0)); then
    printf '\nbacklog drain: %d events queued in Redis, then the worker (PostgreSQL: %d)\n' \
        "$BACKLOG" "$PG_INSTANCES"
    printf '%-10s  %10s  %14s  %18s  %18s\n' backend "ev/s" "peak RSS MiB" \
        "worker CPU µs/ev" "server CPU µs/ev"
    for b in "${BACKENDS[@]}"; do
        printf '%-10s  %10s  %14s  %18s  %18s\n' "$b" "${RATE[$b,backlog]:--}" "${RSS[$b]:--}" \
            "${DRAIN_CPU[$b]:--}" "${DRAIN_PG[$b]:--}"
    done
fi
if ((RETENTION > 0)); then
    printf '\nretention during a stream of 20000 events/s for 20 s (SQLite)\n'
    printf '%-12s  %14s  %18s\n' "old events" "deleted" "longest pause, ms"
    for old in 0 "$RETENTION"; do
        printf '%-12s  %14s  %18s\n' "$old" "${RET_DELETED[$old]}" "${RET_WORST[$old]}"
    done
fi
# The CPU time per event of one run's processes, the counter left out ("-": none).
run_total() {
    awk 'BEGIN { for (i = 1; i < ARGC; i++) if (ARGV[i] != "-") t += ARGV[i];
                 printf "%.1f", t }' "$@"
}
printf '\nCPU time per event, microseconds (from /proc/PID/stat, %s ticks/s); by CPU: the\n' \
    "$CLK_TCK"
printf "hub run's total over this run's, the ratio to expect when both keep the CPUs busy\n"
printf '%-4s  %-10s  %7s  %7s  %7s  %7s  %8s  %7s  %7s  %6s\n' qos run hub broker redis worker \
    postgres counter total "by CPU"
for qos in "${QOS_LEVELS[@]}"; do
    for b in hub "${BACKENDS[@]}"; do
        [[ ${RATE[$b,$qos]:--} != - ]] || continue
        total=$(run_total "${CPU[$b,$qos,hub]:--}" "${CPU[$b,$qos,broker]:--}" \
            "${CPU[$b,$qos,redis]:--}" "${CPU[$b,$qos,worker]:--}" "${CPU[$b,$qos,postgres]:--}")
        by_cpu=-
        [[ $b == hub || -z ${hub_total:-} ]] ||
            by_cpu=$(ratio "$hub_total" "$total")
        [[ $b != hub ]] || hub_total=$total
        printf '%-4s  %-10s  %7s  %7s  %7s  %7s  %8s  %7s  %7s  %6s\n' "$qos" "$b" \
            "${CPU[$b,$qos,hub]:--}" "${CPU[$b,$qos,broker]:--}" "${CPU[$b,$qos,redis]:--}" \
            "${CPU[$b,$qos,worker]:--}" "${CPU[$b,$qos,postgres]:--}" "${CPU[$b,$qos,count]:--}" \
            "$total" "$by_cpu"
    done
    hub_total=
done
printf '\nmachine: %s CPUs, %s, %s, load average %s\n' "$(nproc)" "${cpu_model:-unknown CPU}" \
    "$(uname -sr)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'servers: %s, %s, SQLite %s%s\n' \
    "$(mosquitto -h 2>/dev/null | awk 'NR == 1 { print $1, $3; exit }')" \
    "$(redis-server --version | awk '{ print $1, $2, $3 }')" "$(sqlite3 --version | cut -d' ' -f1)" \
    "${PG_BIN:+, PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }')}"
buildtype=$(python3 -c 'import json, sys
print(next(o["value"] for o in json.load(open(sys.argv[1])) if o["name"] == "buildtype"))' \
    "$BUILD_DIR/meson-info/intro-buildoptions.json" 2>/dev/null) || buildtype=unknown
printf 'build: %s (%s), commit %s%s\n' "$BUILD_DIR" "$buildtype" \
    "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "${BENCH_STORAGE_BIN:+, storage worker $BENCH_STORAGE_BIN}"
printf 'storage.batch_max: %s, storage.commit_interval_ms: %s\n' "${BATCH_MAX:-default}" \
    "${COMMIT_MS:-default}"
printf 'command: BENCH_EVENTS=%s BENCH_QOS="%s" BENCH_BACKENDS="%s" BENCH_BACKLOG=%s%s%s%s%s %s\n' \
    "$EVENTS" "${QOS_LEVELS[*]:-none}" "${BACKENDS[*]}" "$BACKLOG" \
    "${BENCH_PACK:+ BENCH_PACK=$BENCH_PACK}" "${BATCH_MAX:+ BENCH_BATCH_MAX=$BATCH_MAX}" \
    "${COMMIT_MS:+ BENCH_COMMIT_MS=$COMMIT_MS}" \
    "$( ((PG_INSTANCES == 1)) || echo " BENCH_PG_INSTANCES=$PG_INSTANCES")" "$0"

