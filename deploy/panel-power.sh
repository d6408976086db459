#!/bin/sh
# Switch a kiosk's panel off and on as signage's power schedule says (GET /api/v1/power).
# Usage: panel-power.sh POWER_URL              ask once and switch
#        panel-power.sh --every 60 POWER_URL   ask every 60 s; switch when the answer changes
# e.g. POWER_URL=http://signage.school.lan:8000/api/v1/power?display=Foyer%20left
# The first tool that works switches: cec-ctl (HDMI-CEC standby / image-view-on), wlopm or
# wlr-randr (Wayland, e.g. Raspberry Pi OS with labwc), xset (X11 DPMS). When none works the
# panel stays on and the board shows its black page. The server away: nothing changes.
every=0
if [ "$1" = "--every" ]; then every="$2"; shift 2; fi
url="${1:?usage: panel-power.sh [--every SECONDS] POWER_URL}"

panel() {  # $1: on or off; says which tool switched, or that none did
  if command -v cec-ctl >/dev/null 2>&1; then
    cec-ctl --playback >/dev/null 2>&1
    if [ "$1" = off ]; then cec-ctl --to 0 --standby >/dev/null 2>&1 && echo cec-ctl && return
    else cec-ctl --to 0 --image-view-on >/dev/null 2>&1 && echo cec-ctl && return; fi
  fi
  if command -v wlopm >/dev/null 2>&1 && wlopm "--$1" '*' >/dev/null 2>&1; then
    echo wlopm; return
  fi
  if command -v wlr-randr >/dev/null 2>&1; then
    output=$(wlr-randr 2>/dev/null | awk 'NR == 1 { print $1 }')
    if [ -n "$output" ] && wlr-randr --output "$output" "--$1" >/dev/null 2>&1; then
      echo wlr-randr; return
    fi
  fi
  if command -v xset >/dev/null 2>&1 && xset dpms force "$1" >/dev/null 2>&1; then
    echo xset; return
  fi
  echo none
}

wanted() {  # prints on or off, nothing when the server does not answer clearly
  answer=$(curl -fsS --max-time 10 "$url" 2>/dev/null) || return
  case "$answer" in
    *'"on":false'* | *'"on": false'*) echo off ;;
    *'"on":true'* | *'"on": true'*) echo on ;;
  esac
}

last=""
while :; do
  want=$(wanted)
  if [ -n "$want" ] && [ "$want" != "$last" ]; then
    echo "signage panel: $want ($(panel "$want"))" >&2
    last="$want"
  fi
  [ "$every" -gt 0 ] 2>/dev/null || exit 0
  sleep "$every"
done
