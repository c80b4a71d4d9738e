#!/usr/bin/env bash
# Makes the README's screenshots from a real run: the inspector in a
# detached tmux session (160x45), each pane captured as text and rendered
# to a PNG with ImageMagick in DejaVu Sans Mono. With --live (as root) the
# run is live on TUN in a network namespace of its own, with the host's
# curl fetching the HTTP page, so the panes show a real connection; without
# it, the demo.
#
#   scripts/screenshots.sh [--live]     # writes docs/screenshots/*.png and *.txt
set -euo pipefail
cd "$(dirname "$0")/.."

live=false
[ "${1:-}" = "--live" ] && live=true

need=""
command -v tmux >/dev/null 2>&1 || need="$need tmux"
# Some machines have a stand-in convert; the real one knows -list.
convert -list font >/dev/null 2>&1 || need="$need imagemagick"
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || need="$need fonts-dejavu-core"
if [ -n "$need" ]; then
	echo "installing:$need"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi

out=docs/screenshots
mkdir -p "$out"
bin=$(mktemp -d)/stackscope
go build -o "$bin" .
session=stackscope-shots
ns=stkshots
held=""
cleanup() {
	[ -n "$held" ] && { kill "$held" 2>/dev/null; pkill -f "curl -s telnet://10.77.0.2:80" 2>/dev/null; } || true
	tmux kill-session -t "$session" 2>/dev/null || true
	$live && ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT

if $live; then
	ip netns add "$ns"
	ip netns exec "$ns" ip link set lo up
	tmux new-session -d -s "$session" -x 160 -y 45 "ip netns exec $ns $bin live"
	sleep 2
	# The host's curl fetches the page, then holds a second connection to
	# port 80 open (telnet://, fed nothing for a while), to watch.
	ip netns exec "$ns" curl -s -o /dev/null http://10.77.0.2/
	(sleep 30 | ip netns exec "$ns" curl -s telnet://10.77.0.2:80 >/dev/null) &
	held=$!
	sleep 1.5
	tmux send-keys -t "$session" 1 G # select the newest socket: curl's connection
else
	tmux new-session -d -s "$session" -x 160 -y 45 "$bin demo --every 200ms"
	sleep 3
fi

shot() { # NAME: capture the screen as text and PNG
	sleep 0.6
	tmux capture-pane -p -t "$session" >"$out/$1.txt"
	# The text is drawn on a canvas as an argument (the default policy
	# forbids label:@file); % and \ are ImageMagick's escapes.
	convert -size 1320x790 xc:'#1c1c1c' -font DejaVu-Sans-Mono -pointsize 13 -fill '#d0d0d0' \
		-annotate +8+16 "$(sed -e 's/\\/\\\\/g' -e 's/%/%%/g' "$out/$1.txt")" "$out/$1.png"
	echo "$out/$1.png"
}

shot 00-main
i=1
for name in sockets queues trace skb slab hash packets flow console; do
	tmux send-keys -t "$session" "$i"
	if [ "$name" = skb ]; then
		# Open a packet's sk_buff: the packets pane's first one (the SYN).
		tmux send-keys -t "$session" 7 g Enter 4
	fi
	[ "$i" -le 6 ] && tmux send-keys -t "$session" z
	shot "$(printf '%02d' "$i")-$name"
	[ "$i" -le 6 ] && tmux send-keys -t "$session" z
	i=$((i + 1))
done
tmux send-keys -t "$session" '?'
shot 10-help
tmux send-keys -t "$session" Escape
sleep 0.2
tmux send-keys -t "$session" q
