# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Shell functions shared by deploy/local/run and tests/run: messages, installing
# missing Debian packages, filling @NAME@ templates, probing ports and waiting for
# services. Source it from bash; it sets no shell options of its own.

# Debian packages the project needs, by purpose.
# shellcheck disable=SC2034  # used by the scripts that source this file
RHEINHUB_BUILD_PACKAGES=(meson ninja-build pkg-config gcc libmosquitto-dev libuv1-dev
    libmsgpack-dev libhiredis-dev libjansson-dev libyaml-dev libmicrohttpd-dev
    libcmocka-dev libxxhash-dev libpcre2-dev libsqlite3-dev libpq-dev libsystemd-dev
    libcurl4-openssl-dev)
RHEINHUB_RUN_PACKAGES=(mosquitto mosquitto-clients redis-server redis-tools curl procps
    openssl sqlite3)
RHEINHUB_TEST_PACKAGES=(python3 python3-pytest python3-pytest-xdist python3-redis python3-msgpack
    python3-paho-mqtt python3-yaml clang libclang-rt-14-dev valgrind json-schema-test-suite
    postgresql chromium chromium-driver python3-selenium faketime linux-perf strace)
# Building and checking the .debs, the units and the monitoring rules (tests/run package,
# tests/integration/test_monitoring.py).
RHEINHUB_PACKAGING_PACKAGES=(dpkg-dev debhelper lintian systemd iproute2 util-linux
    prometheus)

# Messages name the script by its last two path parts: "local/run", "tests/run".
case $0 in
*/*) RHEINHUB_PROG=${0%/*} RHEINHUB_PROG=${RHEINHUB_PROG##*/}/${0##*/} ;;
*) RHEINHUB_PROG=$0 ;;
esac

# info MESSAGE...: a progress line on stderr, prefixed with the script's name.
info() {
    printf '%s: %s\n' "$RHEINHUB_PROG" "$*" >&2
}

# die MESSAGE...: print an error on stderr and exit 1 (runs the caller's EXIT trap).
die() {
    printf '%s: error: %s\n' "$RHEINHUB_PROG" "$*" >&2
    exit 1
}

# ensure_packages PKG...: install the Debian packages that are not installed yet.
# Does nothing (and needs no network) when all are there. Uses sudo when not root.
ensure_packages() {
    local pkg missing=()
    for pkg in "$@"; do
        if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) != *" installed" ]]; then
            missing+=("$pkg")
        fi
    done
    ((${#missing[@]} > 0)) || return 0

    local -a as_root=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null ||
            die "missing packages: ${missing[*]}; install them as root (sudo is not available)"
        as_root=(sudo)
    fi
    info "installing missing packages: ${missing[*]}"
    "${as_root[@]}" apt-get update ||
        die "apt-get update failed; cannot install: ${missing[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}" ||
        die "apt-get install failed for: ${missing[*]}"
}

# render_template IN OUT: copy IN to OUT, replacing each @NAME@ with the value of the
# shell variable NAME. Comment lines (first non-blank character '#') are copied as
# they are, so a template can document its own placeholders. A placeholder without a
# variable is an error. OUT is replaced atomically.
render_template() {
    local in=$1 out=$2 line name done lineno=0
    [[ -r $in ]] || die "template not found: $in"
    {
        while IFS= read -r line || [[ -n $line ]]; do
            lineno=$((lineno + 1))
            if ! [[ $line =~ ^[[:space:]]*# ]]; then
                # Left to right, each value copied as it is: a value is never searched
                # for placeholders again (a password may hold '@', '&' or '\').
                done=''
                while [[ $line =~ @([A-Za-z_][A-Za-z0-9_]*)@ ]]; do
                    name=${BASH_REMATCH[1]}
                    [[ -v $name ]] || die "$in:$lineno: no value for @$name@"
                    done+=${line%%"@$name@"*}${!name}
                    line=${line#*"@$name@"}
                done
                line=$done$line
            fi
            printf '%s\n' "$line"
        done <"$in"
    } >"$out.tmp" || die "cannot write $out"
    mv -f "$out.tmp" "$out"
}

# port_used PORT [STATE]: true when some TCP socket (v4 or v6) has PORT as its local
# port, in STATE when one is given (/proc/net/tcp's hex state: 0A is LISTEN). Without
# STATE any socket counts, connected or closing ones too: bind() would fail on them.
port_used() {
    local hex
    printf -v hex ':%04X' "$1"
    # /proc/net/tcp*: field 2 is local address:port in hex, field 4 the state.
    awk -v p="$hex" -v st="${2:-}" 'FNR > 1 && substr($2, length($2) - 4) == p &&
                                    (st == "" || $4 == st) { found = 1 }
                                    END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# port_in_use PORT: true when some socket listens on TCP PORT (any address, v4 or v6).
port_in_use() {
    port_used "$1" 0A
}

# require_free_port WHAT PORT: exit with a clear message unless PORT is a valid,
# unused port. WHAT names the service and its variable, e.g. "MQTT (RHEINHUB_MQTT_PORT)".
require_free_port() {
    local what=$1 port=$2
    if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
        die "$what: '$port' is not a port number"
    fi
    if port_in_use "$port"; then
        die "$what: port $port is already in use; stop what listens there or choose another port"
    fi
}

# free_port [FROM [TO]]: print a TCP port in FROM..TO that no socket uses now. The
# default range lies above the kernel's ephemeral range (net.ipv4.ip_local_port_range),
# where no client's outgoing connection takes the port before the server binds it, and
# outside 10000..32767, which the integration tests hand out to their own servers.
free_port() {
    local from=${1:-} to=${2:-} port tries low high
    if [[ -z $from ]]; then
        read -r low high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || high=60999
        from=$((high + 1)) to=65535
        ((to - from >= 500)) || from=1024 to=9999
    fi
    to=${to:-65535}
    for ((tries = 0; tries < 200; tries++)); do
        port=$((from + RANDOM % (to - from + 1)))
        port_used "$port" || { echo "$port"; return 0; }
    done
    die "no free port found in $from..$to"
}

# wait_for WHAT TIMEOUT_S CMD [ARG...]: run CMD every 0.1 s until it succeeds; after
# TIMEOUT_S seconds give up with an error naming WHAT. CMD should be quiet; it may
# call die itself to stop waiting early (e.g. when the process it waits for exited).
wait_for() {
    local what=$1 timeout=$2 deadline
    shift 2
    deadline=$((SECONDS + timeout))
    until "$@"; do
        ((SECONDS < deadline)) || die "$what did not come up within ${timeout}s"
        sleep 0.1
    done
}
