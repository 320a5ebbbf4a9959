#!/usr/bin/env bash
# Start a throwaway Dovecot 2.3 IMAP server for connectors/imap's integration test.
#
#   eval "$(.ci/dovecot.sh)"            # start; exports FEEDBACKHUB_TEST_DOVECOT_*
#   go test ./connectors/imap -run Dovecot
#   eval "$FEEDBACKHUB_TEST_DOVECOT_STOP"   # or: kill "$(cat "$D/run/master.pid")"
#
# It installs dovecot-imapd when absent, writes its own config into a temp dir (so
# Debian's /etc/dovecot is not used), with one passwd-file user and plaintext LOGIN
# on 127.0.0.1 only, mail stored as Maildir under the unprivileged `mail` user
# (Dovecot refuses to run mail processes as root), and starts it on 127.0.0.1:1143,
# or the next free port up to 1163 if another one already listens there
# (FEEDBACKHUB_DOVECOT_PORT picks the first port to try). Standard output is only
# `export ...` lines and a comment with the stop command; progress goes to stderr.
set -euo pipefail

log() { printf 'dovecot.sh: %s\n' "$*" >&2; }

if ! command -v dovecot >/dev/null 2>&1; then
  log "installing dovecot-imapd"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq dovecot-imapd >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq dovecot-imapd >/dev/null
  fi
fi
command -v dovecot >/dev/null 2>&1 || { log "dovecot is not installed and could not be installed"; exit 1; }
id mail >/dev/null 2>&1 || { log "no 'mail' user to run mail processes as"; exit 1; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT="${FEEDBACKHUB_DOVECOT_PORT:-1143}"
last=$((PORT + 20))
while ! port_free "$PORT"; do
  PORT=$((PORT + 1))
  [ "$PORT" -le "$last" ] || { log "no free port in ${FEEDBACKHUB_DOVECOT_PORT:-1143}..$last"; exit 1; }
done

D=$(mktemp -d /tmp/feedbackhub-dovecot.XXXXXX)
chmod 0755 "$D" # mail processes (uid mail) must reach $D/mail
mkdir -p "$D/run" "$D/mail"
chown mail:mail "$D/mail"
chmod 0700 "$D/mail"
USER_NAME=support
PASSWORD="fh-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s:%s::::::\n' "$USER_NAME" "$PASSWORD" >"$D/users"
# The auth process reads it as the dovecot user.
if getent group dovecot >/dev/null 2>&1; then
  chgrp dovecot "$D/users"
  chmod 0640 "$D/users"
else
  chmod 0644 "$D/users"
fi

cat >"$D/dovecot.conf" <<EOF
# Dovecot 2.3 syntax (Debian 12); every path absolute.
base_dir = $D/run
log_path = $D/dovecot.log
info_log_path = $D/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$D/mail/%u
mail_uid = mail
mail_gid = mail
first_valid_uid = 8
first_valid_gid = 8

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/users
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$D/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
EOF

doveconf -c "$D/dovecot.conf" -n >/dev/null || { log "config rejected; see doveconf output above"; exit 1; }
dovecot -c "$D/dovecot.conf"
for _ in $(seq 1 50); do
  port_free "$PORT" || break
  sleep 0.2
done
if port_free "$PORT"; then
  log "dovecot did not start listening on 127.0.0.1:$PORT; log follows"
  cat "$D/dovecot.log" >&2 || true
  [ -f "$D/run/master.pid" ] && kill "$(cat "$D/run/master.pid")" 2>/dev/null || true
  exit 1
fi
log "dovecot $(dovecot --version | cut -d' ' -f1) on 127.0.0.1:$PORT, dir $D, pid $(cat "$D/run/master.pid")"

cat <<EOF
export FEEDBACKHUB_TEST_DOVECOT_ADDR=127.0.0.1:$PORT
export FEEDBACKHUB_TEST_DOVECOT_USER=$USER_NAME
export FEEDBACKHUB_TEST_DOVECOT_PASSWORD=$PASSWORD
export FEEDBACKHUB_TEST_DOVECOT_DIR=$D
export FEEDBACKHUB_TEST_DOVECOT_STOP='kill \$(cat $D/run/master.pid)'
# stop: kill \$(cat $D/run/master.pid)
EOF
