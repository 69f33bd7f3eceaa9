# SPDX-License-Identifier: Apache-2.0
# Shared by the deb and rpm maintainer scripts (pasted into each by packaging/CMakeLists.txt).
# POSIX sh; every function is safe to run again.
TIDEGATE_USER=tidegate
TIDEGATE_HOME=/var/lib/tidegate
TIDEGATE_CONFDIR=@TIDEGATE_SYSCONFDIR@
TIDEGATE_KEYDIR=$TIDEGATE_CONFDIR/keys
TIDEGATE_BIN=@TIDEGATE_BINDIR_FULL@/tidegate
TIDEGATE_UNIT=tidegate.service

# True when systemd is the running init: in a chroot, a container without systemd or a
# package build root there is nothing to start, stop or reload.
tidegate_systemd_running() {
  [ -d /run/systemd/system ]
}

# Restarts the service if it is running, without waiting for the new one to be ready: the agent
# stays "activating" until its broker acknowledges the subscription (and extends its start
# timeout while it waits), so a blocking restart would hold the package transaction for as long
# as the broker is down. Honours policy-rc.d (101: do not touch services), as
# deb-systemd-invoke does; that tool has no --no-block.
tidegate_restart_if_running() {
  if [ -x /usr/sbin/policy-rc.d ]; then
    rc=0
    /usr/sbin/policy-rc.d "$TIDEGATE_UNIT" try-restart || rc=$?
    [ "$rc" -eq 101 ] && return 0
  fi
  systemctl --no-block try-restart "$TIDEGATE_UNIT" >/dev/null 2>&1 || :
}

# The state directory (the buffer, agent.state_dir in the default config). systemd's
# StateDirectory= would create it too; creating it here lets `tidegate buffer stats` and a
# manual `tidegate run` as the service user work before the unit has ever started.
tidegate_make_state_dir() {
  install -d -o "$TIDEGATE_USER" -g "$TIDEGATE_USER" -m 0700 "$TIDEGATE_HOME"
}

# On first install only, and only when the key directory holds no file at all: the token key
# the default config's privacy section expects (privacy.key_file:
# /etc/tidegate/keys/token.keys), mode 0600, owned by the service user. `tidegate keys init`
# also makes a config-signing pair and a recipient pair; their secret halves belong to the
# fleet operator and the receiver, not on a gateway, so only token.keys is kept.
tidegate_init_keys() {
  if [ -d "$TIDEGATE_KEYDIR" ] && [ -n "$(ls -A "$TIDEGATE_KEYDIR")" ]; then
    return 0
  fi
  install -d -o "$TIDEGATE_USER" -g "$TIDEGATE_USER" -m 0700 "$TIDEGATE_KEYDIR"
  tidegate_keys_tmp=$(mktemp -d "$TIDEGATE_KEYDIR/.init.XXXXXX")
  if "$TIDEGATE_BIN" keys init --dir "$tidegate_keys_tmp" >/dev/null; then
    chown "$TIDEGATE_USER:$TIDEGATE_USER" "$tidegate_keys_tmp/token.keys"
    chmod 0600 "$tidegate_keys_tmp/token.keys"
    mv "$tidegate_keys_tmp/token.keys" "$TIDEGATE_KEYDIR/token.keys"
    echo "tidegate: created the token key $TIDEGATE_KEYDIR/token.keys (mode 0600)"
  else
    echo "tidegate: could not create $TIDEGATE_KEYDIR/token.keys; run" \
      "'tidegate keys init --dir DIR' yourself" >&2
  fi
  rm -rf "$tidegate_keys_tmp"
}

# Purge: the buffer and state, the keys the package made (an operator's other files in
# /etc/tidegate stay), and the service user.
tidegate_purge_state() {
  rm -rf "$TIDEGATE_HOME" "$TIDEGATE_KEYDIR"
  rmdir "$TIDEGATE_CONFDIR" 2>/dev/null || true
}
