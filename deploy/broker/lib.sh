# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Shell functions shared by the production broker tools in deploy/broker/ (configure,
# make-ca, account, bridge): the broker folder and its settings, names and topic
# filters that may appear in files Mosquitto reads, the account registry and the ACL
# generated from it, and installing files with the right owner and mode. Source it
# from bash after deploy/lib/common.sh; it sets no shell options of its own.
#
# The broker folder (-d DIR, else $RHEINHUB_BROKER_DIR, else /etc/rheinhub/broker):
#   broker.env        settings written by configure (KEY=value lines, read without eval)
#   mosquitto.conf    the broker's configuration, from broker-config/production/
#   conf.d/           optional listeners (websockets.conf)
#   passwd            accounts' password hashes (mosquitto_passwd)
#   accounts          account registry: "NAME ROLE [ARG...]" lines, the ACL's source
#   acl               generated from broker-config/production/acl.in and accounts
#   ca/               the local CA (ca.key never leaves this folder)
#   certs/            the broker's server certificate and key
#   clients/          client certificates issued by make-ca --client
#   bridges/          generated bridge configurations, one per partner

BROKER_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BROKER_TEMPLATES=$BROKER_REPO/broker-config/production
# shellcheck disable=SC2034  # used by deploy/broker/bridge
BRIDGE_TEMPLATES=$BROKER_REPO/broker-config/bridges

# Roles an account can have; docs/broker.md has what each may do.
BROKER_ROLES=(device app operator hub alerting analytics source platform bridge)

# broker_dir_default: the broker folder when -d is not given.
broker_dir_default() {
    printf '%s\n' "${RHEINHUB_BROKER_DIR:-/etc/rheinhub/broker}"
}

# broker_use_dir DIR: make DIR (absolute) the broker folder, BROKER_DIR. It must exist.
broker_use_dir() {
    [[ -d $1 ]] || die "broker folder $1 does not exist; create it with deploy/broker/configure"
    BROKER_DIR=$(cd "$1" && pwd -P)
}

# broker_lock: hold an exclusive lock on the broker folder until the script exits, so
# that two tools never rewrite passwd, accounts or acl at the same time.
broker_lock() {
    exec 8>"$BROKER_DIR/.lock" || die "cannot write $BROKER_DIR/.lock"
    flock -w 30 8 || die "another broker tool holds $BROKER_DIR/.lock"
}

# Settings written by configure, with their defaults.
BROKER_SETTINGS=(MUNICIPALITY BROKER_USER DATA_DIR LOCAL_PORT TLS_PORT TLS_BIND WS_PORT WS_BIND)

# broker_load_settings: read BROKER_DIR/broker.env into the variables named in
# BROKER_SETTINGS. Lines other than KEY=value with a known KEY are errors; values are
# taken as they are (no quotes, no expansion).
broker_load_settings() {
    local file=$BROKER_DIR/broker.env line key value lineno=0
    [[ -r $file ]] || die "$file not found; run deploy/broker/configure first"
    while IFS= read -r line || [[ -n $line ]]; do
        lineno=$((lineno + 1))
        [[ -z $line || $line == \#* ]] && continue
        [[ $line =~ ^([A-Z_]+)=(.*)$ ]] || die "$file:$lineno: not a KEY=value line"
        key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
        [[ " ${BROKER_SETTINGS[*]} " == *" $key "* ]] || die "$file:$lineno: unknown setting $key"
        printf -v "$key" '%s' "$value"
    done <"$file"
    valid_slug "${MUNICIPALITY:-}" || die "$file: MUNICIPALITY '${MUNICIPALITY:-}' is not a slug"
}

# valid_slug S: a municipality slug as in the topic contract: lower case, digits, '-'.
valid_slug() {
    [[ $1 =~ ^[a-z][a-z0-9-]{0,62}$ ]]
}

# valid_name S: an account name. Device names are topic subjects, so every name keeps
# to the subject alphabet; that also keeps '+', '#', '/', ':' and blanks out of the
# ACL and password files.
valid_name() {
    [[ $1 =~ ^[A-Za-z0-9._-]{1,128}$ ]]
}

# valid_port S: a TCP port number.
valid_port() {
    [[ $1 =~ ^[0-9]{1,5}$ ]] && (($1 >= 1 && $1 <= 65535))
}

# valid_filter F: an MQTT topic filter without blanks: '#' only as the whole last
# level, '+' only as a whole level, at most 16 levels, no '$' topics.
valid_filter() {
    local f=$1 level i n
    [[ -n $f && ${#f} -le 512 && $f =~ ^[A-Za-z0-9._/+#-]+$ && $f != \$* ]] || return 1
    local -a levels
    IFS=/ read -r -a levels <<<"$f"
    [[ $f == */ ]] && levels+=("")
    n=${#levels[@]}
    ((n <= 16)) || return 1
    for ((i = 0; i < n; i++)); do
        level=${levels[i]}
        if [[ $level == *'#'* ]]; then
            [[ $level == '#' && $i -eq $((n - 1)) ]] || return 1
        elif [[ $level == *'+'* ]]; then
            [[ $level == '+' ]] || return 1
        fi
    done
}

# filter_under PREFIX F: true when every topic F matches starts with PREFIX/, that is,
# F's first level is the literal PREFIX and F has more levels.
filter_under() {
    [[ $2 == "$1"/* ]]
}

# broker_group: the primary group of the user Mosquitto runs as ('' when that user
# does not exist here); files the broker reads after dropping privileges (passwd, acl,
# the server key, bridge configurations, all re-read on SIGHUP) belong to it.
broker_group() {
    id -gn "${BROKER_USER:-mosquitto}" 2>/dev/null || true
}

# install_file SRC DEST MODE: move SRC to DEST atomically with MODE. Owner root (the
# caller); group: the broker's group when MODE gives the group any right.
install_file() {
    local src=$1 dest=$2 mode=$3 group
    chmod "$mode" "$src" || die "cannot chmod $src"
    if [[ $mode =~ ^0?[0-7][1-7][0-7]$ ]]; then
        group=$(broker_group)
        if [[ -n $group ]]; then
            chgrp "$group" "$src" 2>/dev/null ||
                info "warning: cannot give $dest to group $group; the broker may not read it"
        fi
    fi
    mv -f "$src" "$dest" || die "cannot write $dest"
}

# same_content A B: true when both files exist with the same bytes.
same_content() {
    [[ -f $1 && -f $2 ]] && cmp -s "$1" "$2"
}

# --- account registry -----------------------------------------------------------------

# accounts_read: fill ACCOUNT_ROLE[name] and ACCOUNT_ARGS[name] (space-separated) from
# BROKER_DIR/accounts, in file order (ACCOUNT_NAMES).
accounts_read() {
    local file=$BROKER_DIR/accounts line name role args lineno=0
    declare -g -A ACCOUNT_ROLE=() ACCOUNT_ARGS=()
    declare -g -a ACCOUNT_NAMES=()
    [[ -f $file ]] || return 0
    while IFS= read -r line || [[ -n $line ]]; do
        lineno=$((lineno + 1))
        [[ -z $line || $line == \#* ]] && continue
        read -r name role args <<<"$line"
        valid_name "$name" || die "$file:$lineno: bad account name '$name'"
        [[ " ${BROKER_ROLES[*]} " == *" $role "* ]] || die "$file:$lineno: unknown role '$role'"
        [[ -z ${ACCOUNT_ROLE[$name]:-} ]] || die "$file:$lineno: account $name listed twice"
        ACCOUNT_ROLE[$name]=$role
        ACCOUNT_ARGS[$name]=$args
        ACCOUNT_NAMES+=("$name")
    done <"$file"
}

# accounts_write: write ACCOUNT_NAMES/ROLE/ARGS back to BROKER_DIR/accounts.
accounts_write() {
    local file=$BROKER_DIR/accounts name
    {
        echo "# rheinhub broker accounts: NAME ROLE [ARG...]. Written by deploy/broker/account;"
        echo "# the acl file is generated from this list. Passwords are in passwd."
        for name in "${ACCOUNT_NAMES[@]}"; do
            printf '%s %s%s\n' "$name" "${ACCOUNT_ROLE[$name]}" \
                "${ACCOUNT_ARGS[$name]:+ ${ACCOUNT_ARGS[$name]}}"
        done
    } >"$file.tmp" || die "cannot write $file.tmp"
    if same_content "$file.tmp" "$file"; then
        rm -f "$file.tmp"
        return 0
    fi
    # Names and roles, no secret: readable by the console (the hub's user) for its logins.
    install_file "$file.tmp" "$file" 0644
}

# role_grants ROLE NAME ARGS: print the ACL topic lines of one account (without the
# "user" line). Every account that is not a device first gets "deny" lines that take
# back what the device patterns would give its name (patterns apply to every account,
# see acl.in); Mosquitto checks an account's deny lines before anything else.
role_grants() {
    local role=$1 name=$2 args=$3 m=$MUNICIPALITY arg
    [[ $role != device ]] || return 0
    printf 'topic deny %s/%s/+/%s\n' "$m" sensor "$name" "$m" service "$name" "$m" citizen "$name"
    case $role in
    app)
        for arg in $args; do
            printf 'topic write %s/%s/+\n' "$m" "${arg/./\/}"
        done
        ;;
    operator)
        printf 'topic read %s\n' '+/alerts/#' '+/analytics/#' "\$SYS/broker/connection/+/state"
        printf 'topic write %s\n' '+/alerts/+/+/ack'
        ;;
    hub | alerting | analytics | source | platform)
        # platform: the hub and the workers it supervises (the sources too), when they
        # share one hub.yaml and with it one MQTT account: what they need together.
        if [[ $role == hub || $role == platform ]]; then
            printf 'topic read %s\n' '+/sensor/#' '+/service/#' '+/citizen/#'
        fi
        if [[ $role == alerting || $role == platform ]]; then
            printf 'topic readwrite %s\n' '+/alerts/+/+'
            printf 'topic read %s\n' '+/alerts/+/+/ack'
        fi
        if [[ $role == analytics || $role == platform ]]; then
            printf 'topic readwrite %s\n' '+/analytics/#'
        fi
        # source: the events of many devices, under their subjects, for this
        # municipality only (a partner's come over its bridge).
        if [[ $role == source || $role == platform ]]; then
            printf 'topic write %s/%s/+/+\n' "$m" sensor "$m" service "$m" citizen
        fi
        ;;
    bridge)
        for arg in $args; do
            case $arg in
            in=*) printf 'topic write %s\n' "${arg#in=}" ;;
            out=*) printf 'topic read %s\n' "${arg#out=}" ;;
            esac
        done
        ;;
    esac
}

# acl_generate: write BROKER_DIR/acl from acl.in (the device patterns) and one block per
# account of the registry. Unchanged content leaves the file as it is.
acl_generate() {
    local out=$BROKER_DIR/acl name
    accounts_read
    # shellcheck disable=SC2034  # MUNICIPALITY is read by render_template
    render_template "$BROKER_TEMPLATES/acl.in" "$out.tmp"
    {
        echo
        echo "# --- accounts: generated by deploy/broker/account from $BROKER_DIR/accounts ---"
        for name in "${ACCOUNT_NAMES[@]}"; do
            [[ ${ACCOUNT_ROLE[$name]} != device ]] || continue
            echo
            echo "# ${ACCOUNT_ROLE[$name]}${ACCOUNT_ARGS[$name]:+ ${ACCOUNT_ARGS[$name]}}"
            echo "user $name"
            role_grants "${ACCOUNT_ROLE[$name]}" "$name" "${ACCOUNT_ARGS[$name]}"
        done
    } >>"$out.tmp" || die "cannot write $out.tmp"
    if same_content "$out.tmp" "$out"; then
        rm -f "$out.tmp"
        return 0
    fi
    install_file "$out.tmp" "$out" 0640
}

# reload_hint: what to do so that a running broker sees changed accounts or ACLs.
reload_hint() {
    info "a running broker applies this after SIGHUP: systemctl reload mosquitto (or kill -HUP its pid)"
}
