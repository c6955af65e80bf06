#!/usr/bin/env bash
# skyless node agent. Contract: agent/PROTOCOL.md. Needs only bash (>= 4.2), curl, tar, gzip and
# coreutils, which every cloud image has (and the cloud's CLI, `aws` or `gsutil`, for bucket mounts).
# The user-data bootstrap downloads it from the API. Runs once per node: register, fetch files, setup,
# barrier, run, report.
set -o pipefail

API=${SKYLESS_API_URL:?SKYLESS_API_URL is not set}
TOKEN=${SKYLESS_AGENT_TOKEN:?SKYLESS_AGENT_TOKEN is not set} # one-time bootstrap token: registration spends it
unset SKYLESS_AGENT_TOKEN
CLOUD=${SKYLESS_CLOUD:-local}
WORK=${SKYLESS_WORK_DIR:-$HOME/skyless}
PATIENCE=${SKYLESS_API_PATIENCE_SECONDS:-600}
GRACE=${SKYLESS_KILL_GRACE_SECONDS:-5}
POLL=${SKYLESS_INTERRUPTION_POLL_SECONDS:-5}
HB=${SKYLESS_HEARTBEAT_SECONDS:-10}
SAVE=30            # seconds between saves of saved mounts (the register reply's saveSeconds)
CHUNK=1048576
ST=$WORK/.agent    # the agent's own state; the user's files live beside it, never in it
LOG=$ST/output.log # combined setup+run output, shipped by byte offset
SESSION=$ST/session # the newest session credential (registration answers it, heartbeats renew it)
CT='Content-Type: application/json'
UPID=              # process group (= session) of the running user command, main process only

say() { printf '%s skyless-agent[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$BASHPID" "$*" >&2; }
note() { say "$*"; printf 'skyless: %s\n' "$*" >>"$LOG"; } # also tell the user, in the job's log
jstr() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '%s' "$s" | tr -d '\000-\037'; }
# Value of a flat field of the JSON reply in BODY (heartbeat and exit replies have only flat fields).
jfield() { sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"\{0,1\}\([A-Za-z0-9_.-]*\).*/\1/p' <<<"$BODY" | head -n 1; }
# Value of a `key value` line of the text reply in BODY.
tfield() { local k v; while read -r k v; do [ "$k" = "$1" ] && { echo "$v"; return; }; done <<<"$BODY"; }
# Decodes base64 keeping trailing newlines (command substitution would strip them).
unb64() { B64=$(printf '%s' "$1" | base64 -d; echo x); B64=${B64%x}; }
# Interruptible sleep: a background helper's TERM trap can end it at once.
nap() { sleep "$1" & NAP=$!; wait $NAP; }
nap_ms() { local ms=$1; [[ $ms =~ ^[0-9]+$ ]] || ms=1000; nap "$((ms / 1000)).$(printf %03d $((ms % 1000)))"; }

# The credential of the next call: the session once registered (read from its file, since every
# helper process shares it), the bootstrap token before.
# Sets CRED without forking (the log shipper calls the API often).
cred() { CRED=$TOKEN; [ -s "$SESSION" ] && { read -r CRED <"$SESSION" || :; }; }
# keep_session TOKEN: stores a session credential the API answered (atomically: helpers read it).
keep_session() {
  local t="$SESSION.$BASHPID"
  [[ $1 =~ ^[A-Za-z0-9_.-]+$ ]] || return 0
  (umask 077; printf '%s' "$1" >"$t") && mv -f "$t" "$SESSION"
}

# api METHOD PATH [curl args]: sets BODY; 0 on 2xx, 1 on a 4xx other than 410. 5xx, 408, 429 and
# connection failures are retried with back-off for up to PATIENCE seconds, then the node gives up.
# 410 means the attempt has ended.
api() {
  local m=$1 p=$2 t0 d=1 out code
  shift 2
  t0=$(date +%s)
  while :; do
    cred
    out=$(curl -sS -X "$m" -H "Authorization: Bearer $CRED" --connect-timeout 5 --max-time 60 \
      -w '\n%{http_code}' "$@" "$API$p") || out=$'\n000'
    code=${out##*$'\n'} BODY=${out%$'\n'*}
    case $code in
      2??) return 0 ;;
      410) abort gone ;;
      5??|000|408|429) ;;
      *) say "$m $p: HTTP $code ${BODY:0:300}"; return 1 ;;
    esac
    (($(date +%s) - t0 >= PATIENCE)) && abort "API unreachable for ${PATIENCE}s"
    nap $d
    d=$((d * 2 > 5 ? 5 : d * 2))
  done
}

# group_alive PGID: true while a process of the group runs. Zombies do not count: where init does not
# reap orphans they would otherwise stay "alive" forever.
group_alive() {
  kill -0 -- "-$1" 2>/dev/null || return 1
  [ -r /proc/self/stat ] || return 0
  local f s
  for f in /proc/[0-9]*/stat; do
    read -r s <"$f" 2>/dev/null || continue
    set -- "$1" ${s##*) } # -> pgid state ppid pgrp ...
    [ "$4" = "$1" ] && [ "$2" != Z ] && return 0
  done
  return 1
}
# The user's command runs in its own session, so one group signal reaches everything it started.
user_group() { echo "${UPID:-$(cat "$ST/user.pgid" 2>/dev/null)}"; }
stop_user() {
  local g i=0
  g=$(user_group)
  [ -n "$g" ] || return 0
  kill -TERM -- "-$g" 2>/dev/null
  while group_alive "$g" && ((i++ < GRACE * 5)); do sleep 0.2; done
  kill -KILL -- "-$g" 2>/dev/null
  rm -f "$ST/user.pgid"
}

# abort REASON: stop this node. A background helper kills the user's work at once and signals the
# main process, which does the rest (grace period, final logs) and exits.
abort() {
  printf '%s\n' "$1" >"$ST/abort"
  if [ "$BASHPID" != "$$" ]; then
    local g; g=$(user_group); [ -n "$g" ] && kill -TERM -- "-$g" 2>/dev/null
    kill -USR1 $$
    exit 0
  fi
  finish
}
finish() {
  trap '' USR1 TERM INT
  local why; why=$(cat "$ST/abort" 2>/dev/null)
  say "stopping: $why"
  stop_user
  # What the commands wrote to a mounted bucket is kept, unless the attempt is already over
  # (gone): a replacement may be writing the same bucket by now.
  [ "$why" = gone ] || end_saves
  [ "$why" = cancel ] && flush # CANCEL: the user still gets what the commands printed
  stop_helpers
  case $why in cancel|gone) exit 0 ;; *) exit 1 ;; esac
}
trap finish USR1
trap 'echo "signal" >"$ST/abort"; finish' TERM INT

stop_helpers() { kill $HB_PID $SHIP_PID $WATCH_PID $SAVER_PID 2>/dev/null; }
helper() { trap 'kill $NAP 2>/dev/null; exit 0' TERM; "$@"; }

beat() {
  while :; do
    if api POST /agent/heartbeat -H "$CT" -d "{\"phase\":\"$(cat "$ST/phase")\"}"; then
      [ "$(jfield action)" = CANCEL ] && abort cancel
      keep_session "$(jfield session)"
    fi
    nap "$HB"
  done
}

# Ships the log in order, each chunk once per offset (a retry after an unknown outcome resends the
# same bytes at the same offset, which the API stores idempotently). log.offset = bytes shipped.
ship() {
  local off size n
  off=$(cat "$ST/log.offset")
  while :; do
    size=$(wc -c <"$LOG")
    if ((off < size)); then
      n=$((size - off > CHUNK ? CHUNK : size - off))
      tail -c +$((off + 1)) "$LOG" | head -c "$n" >"$ST/chunk"
      api POST "/agent/logs?offset=$off" -H 'Content-Type: application/octet-stream' \
        --data-binary @"$ST/chunk" || say "log chunk at $off refused; skipped"
      off=$((off + n))
      echo "$off" >"$ST/log.offset"
    else
      nap 0.5
    fi
  done
}
# Waits until every byte logged so far is shipped (exit codes are reported only after their logs).
flush() {
  local want o
  want=$(wc -c <"$LOG")
  while o=$(cat "$ST/log.offset"); ((${o:-0} < want)) && kill -0 "$SHIP_PID" 2>/dev/null; do sleep 0.1; done
}

MD=${SKYLESS_METADATA_URL:-}
imds() { # AWS IMDSv2
  local t
  t=$(curl -sf -m 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "${MD:-http://169.254.169.254}/latest/api/token") &&
    curl -sf -m 2 -H "X-aws-ec2-metadata-token: $t" "${MD:-http://169.254.169.254}/latest/$1"
}
gce() { curl -sf -m 2 -H 'Metadata-Flavor: Google' "${MD:-http://metadata.google.internal}/computeMetadata/v1/$1"; }

# The node's identity proof for registration (PROTOCOL.md "Credentials"), as a JSON object; nothing
# when the cloud gives none (the API then refuses the registration, naming why).
identity() {
  local doc sig tok sec
  case $CLOUD in
    aws) # the document's exact bytes (base64) and AWS's RSA signature of them, from IMDSv2
      doc=$(imds dynamic/instance-identity/document | base64 -w0) && sig=$(imds dynamic/instance-identity/signature | tr -d '\n') &&
        [ -n "$doc" ] && [[ $sig =~ ^[A-Za-z0-9+/=]+$ ]] && printf '{"kind":"aws","document":"%s","signature":"%s"}' "$doc" "$sig" ;;
    gcp) # a Google-signed JWT for this VM, audience = the API
      tok=$(curl -sf -m 5 -G -H 'Metadata-Flavor: Google' --data-urlencode "audience=$API" --data-urlencode format=full \
        "${MD:-http://metadata.google.internal}/computeMetadata/v1/instance/service-accounts/default/identity") &&
        [[ $tok =~ ^[A-Za-z0-9_.-]+$ ]] && printf '{"kind":"gcp","token":"%s"}' "$tok" ;;
    local) # the secret the local provider gave this instance's process alone
      [ -r "${SKYLESS_IDENTITY_FILE:-}" ] && sec=$(cat "$SKYLESS_IDENTITY_FILE") && printf '{"kind":"local","secret":"%s"}' "$(jstr "$sec")" ;;
  esac
}

watch() { # the cloud's interruption notice, reported once
  local r
  while :; do
    if [ "$CLOUD" = aws ]; then r=$(imds meta-data/spot/instance-action); else
      r=$(gce instance/preempted); [ "$r" = TRUE ] || r=; fi
    if [ -n "$r" ]; then
      say "interruption notice: $r"
      # The node has about two minutes left (EC2), or 30 s (GCE): save while reporting, not after.
      save_mounts &
      api POST /agent/interrupted -H "$CT" -d "{\"reason\":\"$(jstr "$CLOUD interruption notice: $r")\"}"
      wait
      return
    fi
    nap "$POLL"
  done
}

node_ip() {
  local ip=${SKYLESS_NODE_IP:-}
  [ -n "$ip" ] || case $CLOUD in
    aws) ip=$(imds meta-data/local-ipv4) ;;
    gcp) ip=$(gce instance/network-interfaces/0/ip) ;;
  esac
  [ -n "$ip" ] || { set -- $(hostname -I 2>/dev/null); ip=${1:-127.0.0.1}; }
  jstr "$ip"
}

dest_path() { case $1 in '~') echo "$HOME" ;; '~/'*) echo "$HOME/${1#'~/'}" ;; /*) echo "$1" ;; *) echo "$WORK/$1" ;; esac; }
untar() { # URL DIR [-m]; presigned URL: no Authorization header (S3 would refuse two kinds of auth)
  mkdir -p "$2" && curl -fsSL --retry 5 --retry-connrefused --connect-timeout 10 "$1" | tar -xzf - -C "$2" ${3:+"$3"}
}
cloud_copy() { # URI DEST with the cloud's CLI: a prefix is copied as a directory, an object as a file
  local u=$1 d=$2
  case $u in
    s3://*) if aws s3 ls "${u%/}/" >/dev/null 2>&1; then aws s3 cp --recursive --only-show-errors "${u%/}/" "$d"
            else mkdir -p "$(dirname "$d")" && aws s3 cp --only-show-errors "$u" "$d"; fi ;;
    gs://*) if gsutil -q ls "${u%/}/" >/dev/null 2>&1; then mkdir -p "$d" && gsutil -m -q rsync -r "${u%/}/" "$d"
            else mkdir -p "$(dirname "$d")" && gsutil -q cp "$u" "$d"; fi ;;
    file://*) mkdir -p "${u#file://}" "$d" && cp -a "${u#file://}/." "$d" ;; # cloud local: a bucket is a directory
    *) echo "unsupported URI $u"; return 1 ;;
  esac
}
# Saved mounts (PROTOCOL.md): `mirror` fetches a bucket prefix (empty if there is none yet, but the
# bucket must exist), then save_mounts uploads what changed under dest since the last save. Only
# files written on this node are uploaded, never the fetched ones: with several nodes (or a stale
# copy) a save must not put old bytes over a newer checkpoint another node saved. $ST/saves lists
# "dest uri mark" (base64, so every helper process can read them); mark is a file whose mtime is the
# start of the last successful save (or the end of the fetch).
mirror_fetch() { # URI DEST
  local u=$1 d=$2 b
  b=${u#*://}; b=${b%%/*}
  case $u in
    s3://*) aws s3 ls "s3://$b" >/dev/null || { echo "bucket s3://$b does not exist or this node may not read it"; return 1; }
            mkdir -p "$d" && aws s3 sync --only-show-errors "${u%/}/" "$d" ;;
    gs://*) gsutil -q ls -b "gs://$b" >/dev/null || { echo "bucket gs://$b does not exist or this node may not read it"; return 1; }
            mkdir -p "$d" && gsutil -m -q rsync -r "${u%/}/" "$d" ;;
    file://*) mkdir -p "${u#file://}" "$d" && cp -a "${u#file://}/." "$d" ;;
    *) echo "unsupported URI $u"; return 1 ;;
  esac
}
save_one() { # DEST URI MARK STAGE: uploads files changed since MARK, then moves MARK forward
  local d=$1 u=$2 m=$3 stage=$4 f
  [ -d "$d" ] || return 0
  touch "$m.next" && rm -rf "$stage" && mkdir -p "$stage" || return 1
  # Hard links (copies across file systems) of the changed files, under their relative paths.
  (cd "$d" && find . -type f -newer "$m" -print0) | while IFS= read -r -d '' f; do
    mkdir -p "$stage/${f%/*}" && { ln "$d/$f" "$stage/$f" 2>/dev/null || cp -p "$d/$f" "$stage/$f"; }
  done
  if [ -n "$(ls -A "$stage")" ]; then
    case $u in
      s3://*) aws s3 cp --recursive --only-show-errors "$stage" "${u%/}/" ;; # cp: no listing of the bucket
      gs://*) gsutil -m -q rsync -r "$stage" "${u%/}/" ;;
      file://*) mkdir -p "${u#file://}" && cp -a "$stage/." "${u#file://}/" ;;
      *) echo "unsupported URI $u"; false ;;
    esac || { rm -rf "$stage" "$m.next"; return 1; }
  fi
  rm -rf "$stage"
  mv "$m.next" "$m"
}
save_mounts() { # every saved mount; new and changed files go to the bucket, nothing is deleted there
  local d u m n=0 rc=0
  [ -s "$ST/saves" ] || return 0
  while read -r d u m; do
    n=$((n + 1))
    unb64 "$d"; d=$B64; unb64 "$u"; u=$B64; unb64 "$m"; m=$B64
    save_one "$d" "$u" "$m" "$ST/stage.$BASHPID.$n" </dev/null >>"$LOG" 2>&1 || { note "could not save $d to $u"; rc=1; }
  done <"$ST/saves"
  return $rc
}
saver() { while :; do nap "$SAVE"; save_mounts; done; }
# A last save before the exit report (a later task may read the bucket). The periodic saver is
# stopped first and waited for: bash runs its TERM trap only after an upload in flight, so the two
# never overlap and the last save is the final word.
end_saves() {
  if [ -n "$SAVER_PID" ]; then kill "$SAVER_PID" 2>/dev/null; wait "$SAVER_PID" 2>/dev/null; SAVER_PID=; fi
  save_mounts
}
link_dir() { # DIR DEST: DEST becomes DIR itself (cloud local's MOUNT of a bucket, which is a directory)
  mkdir -p "$1" "$(dirname "$2")" && { [ ! -d "$2" ] || [ -L "$2" ] || rmdir "$2"; } && ln -sfn "$1" "$2"
}
files() { # workdir and file mounts; output goes to the log
  local kind dest src mark
  local -A mirrored=()
  if [ -n "$WORKDIR_URL" ]; then untar "$WORKDIR_URL" "$WORK/workdir" || { note "could not fetch the workdir"; return 1; }; fi
  for m in "${MOUNTS[@]}"; do
    read -r dest kind src <<<"$m"
    unb64 "$dest"; dest=$(dest_path "$B64"); unb64 "$src"; src=$B64
    case $kind in
      # Unpacked over a mirrored bucket: fresh mtimes (-m), so the first save uploads these files.
      url) untar "$src" "$(dirname "$dest")" ${mirrored[$dest]:+-m} ;;
      link) link_dir "$src" "$dest" ;;
      mirror) mirror_fetch "$src" "$dest" ;;
      *) cloud_copy "$src" "$dest" ;;
    esac >>"$LOG" 2>&1 || { note "could not fetch file mount $dest"; return 1; }
    if [ "$kind" = mirror ]; then
      mirrored[$dest]=1
      mark=$ST/mark.${#mirrored[@]}
      touch "$mark"
      printf '%s %s %s\n' "$(printf '%s' "$dest" | base64 -w0)" "$(printf '%s' "$src" | base64 -w0)" "$(printf '%s' "$mark" | base64 -w0)" >>"$ST/saves"
    fi
  done
}

# user PHASE: runs the phase's script as the user's command; RC = its exit code.
user() {
  (
    unset SKYLESS_AGENT_TOKEN SKYLESS_IDENTITY_FILE
    i=0
    while [ $i -lt ${#EN[@]} ]; do export "${EN[i]}=${EV[i]}"; i=$((i + 1)); done
    [ "$1" = setup ] && export SKYPILOT_SETUP_NODE_RANK=$RANK
    cd "$CWD" && exec setsid bash "$ST/$1.sh"
  ) </dev/null >>"$LOG" 2>&1 &
  UPID=$!
  echo "$UPID" >"$ST/user.pgid"
  wait "$UPID"
  RC=$?
  UPID=
  rm -f "$ST/user.pgid"
}
report() { # PHASE CODE -> ACTION
  flush
  api POST /agent/exit -H "$CT" -d "{\"phase\":\"$1\",\"exitCode\":$2}" || abort "exit report refused"
  ACTION=$(jfield action)
  say "$1 exit $2 -> $ACTION"
}

mkdir -p "$ST" || exit 1
rm -f "$ST/abort"
: >>"$LOG"
[ -s "$ST/log.offset" ] || echo 0 >"$ST/log.offset"
echo WAIT >"$ST/phase"

IP=$(node_ip)
rm -f "$SESSION"
say "registering at $API as $IP"
# With the bootstrap token and the identity proof until a session is answered (once: the API refuses
# a second registration), then with the session while other nodes are still registering.
while :; do
  if [ -s "$SESSION" ]; then REG="{\"ip\":\"$IP\"}"; else
    ID=$(identity) || ID=
    [ -n "$ID" ] || say "no identity proof from the $CLOUD metadata; registering without one"
    REG="{\"ip\":\"$IP\"${ID:+,\"identity\":$ID}}"
  fi
  api POST '/agent/register?format=text' -H "$CT" -d "$REG" || abort "registration refused"
  keep_session "$(tfield session)"
  [ "$(tfield state)" = READY ] && break
  nap_ms "$(tfield retryAfterMs)"
done

EN=() EV=() MOUNTS=() WORKDIR_URL= RANK=0 HAS_SETUP= HAS_RUN=
while read -r k a b c; do
  case $k in
    rank) RANK=$a ;;
    heartbeatSeconds) [[ $a =~ ^[0-9]+$ ]] && HB=$a ;;
    logChunkBytes) [[ $a =~ ^[0-9]+$ ]] && CHUNK=$a ;;
    saveSeconds) [[ $a =~ ^[1-9][0-9]*$ ]] && SAVE=$a ;;
    env) if [[ $a =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then unb64 "$b"; EN+=("$a"); EV+=("$B64")
         else say "skipping env variable with an invalid name: $a"; fi ;;
    setup) unb64 "$a"; printf '%s' "$B64" >"$ST/setup.sh"; HAS_SETUP=1 ;;
    run) unb64 "$a"; printf '%s' "$B64" >"$ST/run.sh"; HAS_RUN=1 ;;
    workdir) unb64 "$a"; WORKDIR_URL=$B64 ;;
    mount) MOUNTS+=("$a $b $c") ;;
  esac
done <<<"$BODY"
CWD=$WORK
[ -n "$WORKDIR_URL" ] && CWD=$WORK/workdir
say "READY: rank $RANK, ${#EN[@]} env variables, ${#MOUNTS[@]} file mounts"

echo SETUP >"$ST/phase"
helper beat & HB_PID=$!
helper ship & SHIP_PID=$!
case $CLOUD in aws|gcp) helper watch & WATCH_PID=$! ;; esac

RC=0
: >"$ST/saves"
if ! files; then RC=97
else
  [ -s "$ST/saves" ] && { helper saver & SAVER_PID=$!; }
  [ -n "$HAS_SETUP" ] && user setup
fi
((RC != 0)) && end_saves
report SETUP $RC
while [ "$ACTION" = WAIT ]; do
  echo WAIT >"$ST/phase"
  nap_ms "$(jfield retryAfterMs)"
  report SETUP 0
done
if [ $RC = 0 ] && [ "$ACTION" = RUN ]; then
  echo RUN >"$ST/phase"
  RC=0
  [ -n "$HAS_RUN" ] && user run
  end_saves
  report RUN $RC
fi
end_saves # a STOP after setup (another node failed) still keeps what setup wrote
stop_helpers
say "done"
exit 0
