#!/bin/sh
# Raspberry Pi kiosk: show one board full screen, without crash bubbles or session restore.
# Usage: kiosk.sh http://signage.school.lan:8000/display ["Foyer left"]  (a screen paired in
#        /admin, with its display's name for its own power schedule)
#    or: kiosk.sh "http://signage.school.lan:8000/board/overview?theme=dark"
# Every minute panel-power.sh asks /api/v1/power and switches the panel off at night, on days
# without lessons and in the holidays (HDMI-CEC, Wayland or X11; see the README).
# The profile persists, so a paired screen keeps its token (a cookie) across reboots.
# Start it from the desktop session's autostart.
url="${1:?usage: kiosk.sh BOARD_URL [DISPLAY_NAME]}"
name="${2:-$SIGNAGE_DISPLAY}"
power="$(printf '%s' "$url" | sed -E 's#^(https?://[^/]+).*#\1#')/api/v1/power"
[ -n "$name" ] && power="$power?display=$(printf '%s' "$name" | sed 's/%/%25/g; s/ /%20/g; s/&/%26/g')"
"$(dirname "$0")/panel-power.sh" --every 60 "$power" &
browser=$(command -v chromium-browser || command -v chromium)
profile="$HOME/.config/signage-kiosk"
# A crashed or power-cut session must not show "restore pages?": mark the profile clean.
sed -i 's/"exited_cleanly":false/"exited_cleanly":true/; s/"exit_type":"Crashed"/"exit_type":"Normal"/' \
  "$profile/Default/Preferences" 2>/dev/null
exec "$browser" --kiosk --noerrdialogs --disable-infobars --disable-session-crashed-bubble \
  --disable-features=Translate --no-first-run --check-for-update-interval=31536000 \
  --user-data-dir="$profile" "$url"
