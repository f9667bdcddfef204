#!/usr/bin/env bash
# Install, upgrade or uninstall gate-agent on Raspberry Pi OS 12 / Debian 12.
#
#   sudo deploy/install.sh                      install, or upgrade what is installed
#   sudo deploy/install.sh --uninstall          remove program and unit; keep config and state
#   sudo deploy/install.sh --uninstall --purge  remove config, keys, state and the user too
#
# Options: --root DIR (install into DIR instead of /: tests, image building),
# --python PY (default /usr/bin/python3), --wheelhouse DIR (install from wheels in DIR,
# no index: offline gates and CI), --no-apt, --no-start. See docs/install.md.
set -euo pipefail
umask 022
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

NAME=gate-agent
SERVICE_GROUPS=(gpio dialout plugdev input)
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=""
PY=/usr/bin/python3
WHEELHOUSE=""
ACTION=install
PURGE=0
USE_APT=1
START=1

say() { echo "$NAME: $*"; }
die() {
    echo "$NAME: error: $*" >&2
    exit 1
}
usage() {
    echo "usage: $0 [--root DIR] [--python PY] [--wheelhouse DIR] [--no-apt] [--no-start]" >&2
    echo "       $0 --uninstall [--purge] [--root DIR]" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
        --root) [ $# -ge 2 ] || usage; ROOT=$2; shift ;;
        --python) [ $# -ge 2 ] || usage; PY=$2; shift ;;
        --wheelhouse) [ $# -ge 2 ] || usage; WHEELHOUSE=$(realpath -e -- "$2") ||
            die "--wheelhouse $2: no such folder"; shift ;;
        --uninstall) ACTION=uninstall ;;
        --purge) PURGE=1 ;;
        --no-apt) USE_APT=0 ;;
        --no-start) START=0 ;;
        -h | --help) usage ;;
        *) echo "$NAME: unknown option $1" >&2; usage ;;
    esac
    shift
done
[ "$PURGE" = 0 ] || [ "$ACTION" = uninstall ] || die "--purge goes with --uninstall"
[ "$(id -u)" = 0 ] || die "run as root (sudo)"
if [ -n "$ROOT" ]; then
    ROOT=$(realpath -e -- "$ROOT") || die "--root: no such folder"
    [ "$ROOT" != / ] || ROOT=""
fi
# the service account is made in the target's own account files: an empty folder has none
if [ -n "$ROOT" ] && [ "$ACTION" != uninstall ]; then
    for f in passwd group; do
        [ -f "$ROOT/etc/$f" ] || die "--root $ROOT has no etc/$f: give the target system's root" \
            "folder (an unpacked image, with etc/passwd, group, shadow and gshadow)"
    done
fi

OPT=$ROOT/opt/$NAME
ETC=$ROOT/etc/$NAME
STATE=$ROOT/var/lib/$NAME
UNIT=$ROOT/etc/systemd/system/$NAME.service
WANTS=$ROOT/etc/systemd/system/multi-user.target.wants/$NAME.service
LINK=$ROOT/usr/local/bin/$NAME
MARKER=$OPT/share/INSTALLED
# useradd and friends edit $ROOT/etc/{passwd,group,shadow,gshadow} without chroot
PREFIX=()
[ -z "$ROOT" ] || PREFIX=(--prefix "$ROOT")

systemd_here() { [ -z "$ROOT" ] && [ -d /run/systemd/system ]; }
# ids from the target root's own files: a user made under --root is not in the host's NSS
uid_of() { awk -F: -v n="$1" '$1 == n { print $3 }' "$ROOT/etc/passwd"; }
gid_of() { awk -F: -v n="$1" '$1 == n { print $3 }' "$ROOT/etc/group"; }

# -- uninstall -----------------------------------------------------------------
uninstall() {
    [ ! -e "$OPT" ] || [ -e "$MARKER" ] ||
        die "$OPT was not made by this installer: remove it yourself"
    if systemd_here; then
        # stopping runs ExecStopPost (safe-state): the relays are left locked
        systemctl disable --now "$NAME.service" >/dev/null 2>&1 || true
    fi
    rm -f "$WANTS" "$UNIT"
    [ ! -L "$LINK" ] || rm -f "$LINK"
    rm -rf "$OPT"
    say "removed the program ($OPT) and the unit"
    if [ "$PURGE" = 1 ]; then
        rm -rf "$ETC" "$STATE" "$UNIT.d"
        if [ -n "$(uid_of "$NAME")" ]; then userdel "${PREFIX[@]}" "$NAME"; fi
        if [ -n "$(gid_of "$NAME")" ]; then groupdel "${PREFIX[@]}" "$NAME"; fi
        say "purged $ETC, $STATE and the $NAME user"
    else
        say "kept $ETC (config, keys) and $STATE (allow-list, events): --purge removes them"
    fi
    if systemd_here; then systemctl daemon-reload; fi
}

# -- install -------------------------------------------------------------------
check_source() {
    if [ ! -f "$SRC/pyproject.toml" ] || [ ! -d "$SRC/agent" ]; then
        die "$SRC is not a gate-agent source tree (run deploy/install.sh from a clone)"
    fi
    "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
        die "$PY is missing or older than Python 3.11"
    if [ -e "$OPT" ] && [ ! -e "$MARKER" ]; then
        die "$OPT holds an install this script did not make (a clone?): move it aside" \
            "(sudo mv $OPT $OPT.old) and run again; $ETC and $STATE are kept"
    fi
}

machine() { "$PY" -c 'import platform; print(platform.machine())'; }

apt_packages() {
    # runtime libraries only: no compiler, no broker, no test tools on a gate
    local want=(libusb-1.0-0) missing=() p
    "$PY" -c 'import ensurepip' 2>/dev/null || want+=(python3-venv)
    # evdev has wheels for x86_64 only; elsewhere Debian's build (pyproject.toml)
    [ "$(machine)" = x86_64 ] || want+=(python3-evdev)
    for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    if [ -n "$ROOT" ] || [ "$USE_APT" = 0 ] || ! command -v apt-get >/dev/null; then
        say "not installing ${missing[*]} (--root or --no-apt): install them on the gate"
        return 0
    fi
    say "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

ensure_user() {
    local g
    for g in "${SERVICE_GROUPS[@]}"; do
        [ -n "$(gid_of "$g")" ] || groupadd "${PREFIX[@]}" --system "$g"
    done
    if [ -z "$(uid_of "$NAME")" ]; then
        local group_opt=(--user-group)
        [ -z "$(gid_of "$NAME")" ] || group_opt=(--gid "$NAME")
        useradd "${PREFIX[@]}" --system "${group_opt[@]}" --home-dir "/var/lib/$NAME" \
            --no-create-home --shell /usr/sbin/nologin --comment "gate-agent service" "$NAME"
        say "created the system user $NAME"
    fi
    # also on upgrade: a user made by hand may lack a group the unit names
    usermod "${PREFIX[@]}" --append --groups "$(IFS=,; echo "${SERVICE_GROUPS[*]}")" "$NAME"
}

build_venv() { # $1: the new venv's folder
    local stage venv_opts=() pip_opts=(--disable-pip-version-check --no-input -q --use-pep517)
    stage=$(mktemp -d)
    # a copy with only what the package is built from: no build/ or egg-info in the clone
    tar -C "$SRC" --exclude=__pycache__ -cf - pyproject.toml README.md agent drivers |
        tar -C "$stage" -xf -
    # without an evdev wheel (not x86_64) the venv reads Debian's python3-evdev
    [ "$(machine)" = x86_64 ] || venv_opts=(--system-site-packages)
    [ -z "$WHEELHOUSE" ] || pip_opts+=(--no-index --find-links "$WHEELHOUSE")
    say "building the program in $1 (pip install: runtime dependencies only)"
    if ! "$PY" -m venv "${venv_opts[@]}" "$1" ||
        ! "$1/bin/python" -m pip install "${pip_opts[@]}" "$stage" ||
        ! "$1/bin/$NAME" --version >/dev/null; then
        rm -rf "$1" "$stage"
        die "building the program failed (above); the installed version is unchanged"
    fi
    rm -rf "$stage"
}

precheck_config() { # $1: the new venv; a config the new version refuses stops the upgrade
    systemd_here && [ -e "$ETC/gate.toml" ] || return 0
    local scratch
    scratch=$(mktemp -d)
    chown "$NAME:" "$scratch"
    # as the service user (key and config permissions count), in a writable folder
    # (lgpio makes a FIFO in the working directory) that is not the running agent's
    if ! (cd "$scratch" && runuser -u "$NAME" -- "$1/bin/$NAME" check-config "$ETC/gate.toml"); then
        rm -rf "$1" "$scratch"
        die "the new version refuses $ETC/gate.toml (above): fix it and run again;" \
            "the installed version is unchanged and still running"
    fi
    rm -rf "$scratch"
}

install_files() { # $1: the new venv's name under venvs/
    local gid
    gid=$(gid_of "$NAME")
    install -d -m 0755 "$OPT/share/docs" "$ROOT/usr/local/bin" \
        "$ROOT/etc/systemd/system/multi-user.target.wants"
    install -d -m 0750 -o 0 -g "$gid" "$ETC"
    install -d -m 0700 -o "$(uid_of "$NAME")" -g "$gid" "$STATE"
    if [ ! -e "$ETC/gate.toml" ]; then
        install -m 0640 -o 0 -g "$gid" "$SRC/config/gate.example.toml" "$ETC/gate.toml"
        say "wrote $ETC/gate.toml from the production template: edit it"
    fi
    if [ ! -e "$ETC/site.key" ]; then
        "$OPT/venvs/$1/bin/$NAME" keygen "$ETC/site.key" >/dev/null
        chown "0:$gid" "$ETC/site.key" && chmod 0640 "$ETC/site.key"
        say "created the site key $ETC/site.key (root:$NAME 0640)"
    elif [ "$(stat -c %g:%a "$ETC/site.key")" != "$gid:640" ]; then
        # e.g. a root-only key from `sudo gate-agent keygen`: the service could not read it
        chown "0:$gid" "$ETC/site.key" && chmod 0640 "$ETC/site.key"
        say "set $ETC/site.key to root:$NAME 0640 (content kept)"
    fi
    install -m 0644 "$SRC/config/gate.example.toml" "$SRC/systemd/$NAME.service" \
        "$SRC/README.md" "$SRC/deploy/install.sh" "$OPT/share/"
    install -m 0644 "$SRC"/docs/*.md "$OPT/share/docs/"
    chmod 0755 "$OPT/share/install.sh"
    install -m 0644 "$SRC/systemd/$NAME.service" "$UNIT"
    ln -sfn "/etc/systemd/system/$NAME.service" "$WANTS" # = systemctl enable
    ln -sfn "/opt/$NAME/.venv/bin/$NAME" "$LINK"
}

switch_venv() { # $1: the new venv's name; one rename swaps the program
    ln -sfn "venvs/$1" "$OPT/.venv.new"
    mv -T "$OPT/.venv.new" "$OPT/.venv"
}

prune_venvs() { # $1: the venv in use; called once the old process is gone
    local old
    for old in "$OPT"/venvs/*; do
        [ "$(basename "$old")" = "$1" ] || rm -rf "$old"
    done
}

install_or_upgrade() {
    check_source
    apt_packages
    ensure_user
    local version new upgrade=0 fresh=0
    version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$SRC/pyproject.toml")
    new="$version-$(date +%Y%m%d%H%M%S)-$$"
    [ ! -L "$OPT/.venv" ] || upgrade=1
    [ -e "$ETC/gate.toml" ] || fresh=1
    install -d -m 0755 "$OPT/venvs" "$OPT/share"
    [ -e "$MARKER" ] || echo "installing" >"$MARKER"
    build_venv "$OPT/venvs/$new"
    precheck_config "$OPT/venvs/$new"
    install_files "$new"
    switch_venv "$new"
    echo "$version $(date -u +%FT%TZ)" >"$MARKER"
    say "$( ((upgrade)) && echo upgraded || echo installed) gate-agent $version in $OPT"
    if ! systemd_here; then
        say "systemd is not running here: the unit is installed and enabled, not started"
    elif ((fresh)); then
        systemctl daemon-reload
        say "enabled, not started. Edit $ETC/gate.toml (pins, reader, site), then:"
        say "  sudo systemctl start $NAME && journalctl -u $NAME -f"
    elif [ "$START" = 1 ] && systemctl is-active --quiet "$NAME.service"; then
        systemctl daemon-reload
        systemctl restart "$NAME.service" ||
            die "the service did not start: journalctl -u $NAME -n 50"
        say "restarted $NAME.service"
    else
        # stopped on purpose (maintenance) or failed: an upgrade does not start it
        systemctl daemon-reload
        say "$NAME.service is not running (or --no-start): sudo systemctl start $NAME"
    fi
    prune_venvs "$new"
}

if [ "$ACTION" = uninstall ]; then uninstall; else install_or_upgrade; fi
