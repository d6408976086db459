#!/bin/sh
# Raspberry Pi kiosk: show one board full screen, without crash bubbles or session restore.
# Usage: kiosk.sh http://signage.school.lan:8000/display   (a screen paired in /admin)
#    or: kiosk.sh "http://signage.school.lan:8000/board/overview?theme=dark"
# The profile persists, so a paired screen keeps its token (a cookie) across reboots.
# Start it from the desktop session's autostart.
url="${1:?usage: kiosk.sh BOARD_URL}"
browser=$(command -v chromium-browser || command -v chromium)
profile="$HOME/.config/signage-kiosk"
# A crashed or power-cut session must not show "restore pages?": mark the profile clean.
sed -i 's/"exited_cleanly":false/"exited_cleanly":true/; s/"exit_type":"Crashed"/"exit_type":"Normal"/' \
  "$profile/Default/Preferences" 2>/dev/null
exec "$browser" --kiosk --noerrdialogs --disable-infobars --disable-session-crashed-bubble \
  --disable-features=Translate --no-first-run --check-for-update-interval=31536000 \
  --user-data-dir="$profile" "$url"
