#!/bin/sh
# postCustomization script: records its arguments, environment and working directory.
set -e
printf '%s|%s|%s|%s\n' "$1" "$2" "$GREETING" "$(pwd)" > /var/log/liveiso-post.txt
# DNS is the host's during postCustomization (the image's own comes back before finalize).
if [ -L /etc/resolv.conf ]; then echo link > /var/log/liveiso-post-resolv.txt; else echo file > /var/log/liveiso-post-resolv.txt; fi
