#!/bin/bash
# The two-server demo: nginx on 127.0.0.1:8080 and Apache on 127.0.0.1:8081,
# both with the twostep module, sharing one private Redis and one key file,
# each protecting /lab/ behind Basic auth plus the second step.
#
#   make demo            (installs missing packages, builds, runs this)
#   scripts/demo.sh      (after `make`; as root)
#
# Runs in the foreground; Ctrl-C stops everything it started (by PID) and
# removes its run directory. Ports: DEMO_NGINX_PORT (8080),
# DEMO_APACHE_PORT (8081), DEMO_REDIS_PORT (6380). DEMO_KEEP=1 keeps the run
# directory (logs) after the end.
#
# The configurations are conf/nginx-demo.conf and conf/apache-demo.conf;
# this script only fills in their @NAME@ paths and ports.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build"
ctl="$build/twostepctl"
nginx_port="${DEMO_NGINX_PORT:-8080}"
apache_port="${DEMO_APACHE_PORT:-8081}"
redis_port="${DEMO_REDIS_PORT:-6380}"
redis_url="redis://127.0.0.1:$redis_port/0"
users=(alice bob carol)

die() { echo "demo: $*" >&2; exit 1; }

# ---- checks before anything is started ------------------------------------
[ "$(id -u)" = 0 ] || die "run as root (the servers switch to www-data)"
for f in "$ctl" "$build/ngx_http_twostep_module.so" "$build/mod_twostep.so"; do
    [ -e "$f" ] || die "$f is missing: run 'make demo' (or 'make' first)"
done
for t in nginx apache2 redis-server htpasswd; do
    command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] \
        || die "$t is not installed: run 'make demo' (it installs what is missing)"
done
getent group www-data >/dev/null || die "there is no www-data group"

# Something answering on a port means it is taken (by an earlier demo, a
# system nginx, ...): say so instead of letting a server fail obscurely.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$nginx_port:nginx" "$apache_port:Apache" "$redis_port:Redis"; do
    if port_busy "${p%%:*}"; then
        die "port ${p%%:*} (for ${p#*:}) is already in use on 127.0.0.1.
      Stop what listens there (see: ss -ltnp 'sport = :${p%%:*}'), or choose
      another port: DEMO_NGINX_PORT=, DEMO_APACHE_PORT=, DEMO_REDIS_PORT=."
    fi
done

# ---- run directory ---------------------------------------------------------
# Under /tmp rather than the clone: the servers' children run as www-data,
# which cannot enter /root (where a clone often lives).
demo="$(mktemp -d /tmp/twostep-demo.XXXXXX)"
chmod 755 "$demo"
pids=()
names=()

# shellcheck disable=SC2317  # (run by the EXIT trap)
stop_all() {
    local rc=$? i
    trap - INT TERM EXIT
    if [ "${#pids[@]}" -gt 0 ]; then
        echo
        echo "demo: stopping..."
        for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
            kill -TERM "${pids[$i]}" 2>/dev/null || true
        done
        for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
            wait "${pids[$i]}" 2>/dev/null || true
            echo "demo: ${names[$i]} stopped"
        done
    fi
    if [ "${DEMO_KEEP:-0}" = 1 ]; then
        echo "demo: logs kept in $demo"
    else
        rm -rf "$demo"
    fi
    exit "$rc"
}
trap stop_all EXIT
trap 'exit 0' INT     # Ctrl-C is how the demo ends: not an error
trap 'exit 143' TERM

# root:www-data, readable by the servers' children, by nobody else
www_file() { chown root:www-data "$1"; chmod "$2" "$1"; }

mkdir -p "$demo/nginx/tmp" "$demo/apache/run" "$demo/redis"
chmod 755 "$demo/nginx" "$demo/apache" "$demo/apache/run"
cp -r "$root/conf/demo/htdocs" "$demo/htdocs"
chmod -R u=rwX,go=rX "$demo/htdocs"

"$ctl" keygen --out "$demo/twostep.key" >/dev/null
www_file "$demo/twostep.key" 0640

# Fixed passwords: this demo listens on loopback only and its accounts exist
# for the length of one run.
first=-c
for u in "${users[@]}"; do
    htpasswd -b $first "$demo/htpasswd" "$u" "$u-pw" 2>/dev/null
    first=
done
www_file "$demo/htpasswd" 0640
cp "$root/conf/demo/groups" "$demo/groups"
www_file "$demo/groups" 0644

render() {  # template output
    sed -e "s|@DEMO@|$demo|g" -e "s|@REDIS@|$redis_url|g" \
        -e "s|@MODULE@|$3|g" -e "s|@PORT@|$4|g" "$1" > "$2"
}
render "$root/conf/nginx-demo.conf" "$demo/nginx/nginx.conf" \
    "$build/ngx_http_twostep_module.so" "$nginx_port"
render "$root/conf/apache-demo.conf" "$demo/apache/httpd.conf" \
    "$build/mod_twostep.so" "$apache_port"

# ---- start -----------------------------------------------------------------
started() { pids+=("$1"); names+=("$2"); }

alive() { kill -0 "$1" 2>/dev/null; }

# The status code of GET path, with Basic credentials (no curl needed).
http_status() {  # port path [user:password]
    local auth="" line
    [ -n "${3:-}" ] && auth="Authorization: Basic $(printf %s "$3" | base64 -w0)"$'\r\n'
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s\r\n' "$2" "$auth" >&3
    IFS=' ' read -r _ line _ <&3 || true
    exec 3<&- 3>&-
    echo "$line"
}

wait_ready() {  # pid name port log
    local i
    for ((i = 0; i < 100; i++)); do
        alive "$1" || { cat "$4" >&2 2>/dev/null; die "$2 exited while starting (log: $4)"; }
        [ -n "$(http_status "$3" / 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    die "$2 did not answer on 127.0.0.1:$3 (log: $4)"
}

redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$demo/redis" \
    --save '' --appendonly no --daemonize no \
    --logfile "$demo/redis/redis.log" &
started $! Redis
for ((i = 0; i < 100; i++)); do
    [ "$(redis-cli -p "$redis_port" PING 2>/dev/null)" = PONG ] && break
    alive "${pids[0]}" || die "redis-server exited (log: $demo/redis/redis.log)"
    sleep 0.1
done
# Writes the store marker: a Redis without it (never set up, or one that lost
# its data) makes the modules fail closed.
"$ctl" --redis "$redis_url" --key-file "$demo/twostep.key" init >/dev/null

nginx -t -q -p "$demo/nginx/" -c "$demo/nginx/nginx.conf" \
    -e "$demo/nginx/error.log" || die "nginx refused conf/nginx-demo.conf"
nginx -p "$demo/nginx/" -c "$demo/nginx/nginx.conf" \
    -e "$demo/nginx/error.log" -g 'daemon off;' &
started $! nginx
wait_ready "$!" nginx "$nginx_port" "$demo/nginx/error.log"

apache2 -t -f "$demo/apache/httpd.conf" >/dev/null 2>&1 \
    || { apache2 -t -f "$demo/apache/httpd.conf"; die "Apache refused conf/apache-demo.conf"; }
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C \
    apache2 -f "$demo/apache/httpd.conf" -D FOREGROUND &
started $! Apache
wait_ready "$!" Apache "$apache_port" "$demo/apache/error.log"

# Both must send alice (enforced group, not enrolled) to the set-up page.
for p in "$nginx_port" "$apache_port"; do
    s="$(http_status "$p" /lab/ alice:alice-pw)"
    [ "$s" = 303 ] || echo "demo: warning: GET /lab/ as alice on port $p gave $s, expected 303" >&2
done

# ---- tell -------------------------------------------------------------------
ctlcmd="build/twostepctl --redis $redis_url --key-file $demo/twostep.key"
cat <<EOF

  twostep demo is running  (Ctrl-C stops it)

  nginx   http://127.0.0.1:$nginx_port/lab/
  Apache  http://127.0.0.1:$apache_port/lab/
  Both share one Redis ($redis_url) and one key: a computer verified
  on one is verified on the other.

  Users (HTTP Basic; fixed demo passwords, loopback only):
    alice / alice-pw     group lab            (2-step required)
    bob   / bob-pw       group lab            (2-step required)
    carol / carol-pw     groups lab, admins   (may use the admin page)

  Try:
    1. Open http://127.0.0.1:$nginx_port/lab/ as alice. You are sent to the
       set-up page: scan the QR code with an authenticator app (or type the
       key), enter the 6-digit code, keep the backup codes.
    2. Open http://127.0.0.1:$apache_port/lab/: Apache lets alice in with the
       cookie nginx issued.
    3. Close the browser (or use a private window): the code is asked again.
       Tick "Trust this computer" and the next browser session goes straight in.
    4. Type a wrong code five times: the account is locked for 15 minutes.
    5. http://127.0.0.1:$nginx_port/twostep/ : trusted computers, new backup codes.
    6. As carol: http://127.0.0.1:$nginx_port/twostep/admin disables 2-step for
       another user, revokes their computers, lifts a lockout.
    7. The command line does the same:
         $ctlcmd status alice
       or, shorter, with the settings in the environment:
         export TWOSTEP_REDIS=$redis_url TWOSTEP_KEY_FILE=$demo/twostep.key
         build/twostepctl list
         build/twostepctl unlock alice
         build/twostepctl audit
       No authenticator app at hand? The set-up page shows the key (SECRET):
         oathtool --totp -b SECRET

  Logs: $demo/{nginx,apache}/{access,error}.log

EOF

# ---- foreground ---------------------------------------------------------------
# Until Ctrl-C (the INT trap), or until one of the servers dies.
set +e
wait -n "${pids[@]}"
echo "demo: a server exited unexpectedly; see the logs above" >&2
exit 1
