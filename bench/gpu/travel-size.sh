#!/usr/bin/env bash
# Measures what the device tool would send: the checkout's tracked files, its untracked files that git
# does not ignore, a shared/ folder inside the checkout, and the carried folders (default: dist). Prints
# each part in MiB and fails when the total is over the limit (default 56 MiB; the tool refuses 64).
#
#   bench/gpu/travel-size.sh [--limit-mib N] [CARRIED ...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
limit_mib=56
carried=()
while (( $# )); do
    case "$1" in
        --limit-mib) limit_mib="$2"; shift 2 ;;
        *) carried+=("$1"); shift ;;
    esac
done
(( ${#carried[@]} )) || carried=(dist)

# Bytes of the regular files (and links, as links) NUL-separated on stdin; missing ones count nothing.
sum_files() { python3 -c '
import os, sys
total = 0
for p in sys.stdin.buffer.read().split(b"\0"):
    if p:
        try: total += os.lstat(p).st_size
        except FileNotFoundError: pass
print(total)'; }

tracked=$(git ls-files -z | sum_files)
untracked=$(git ls-files -z --others --exclude-standard | sum_files)
shared=0
if [[ -d shared ]] && git check-ignore -q shared; then  # travels although ignored
    shared=$(find shared -type f -print0 | sum_files)
fi
carry_total=0
carry_desc=""
for c in "${carried[@]}"; do
    [[ -e "$c" ]] || { echo "travel-size: carried path '$c' does not exist" >&2; exit 2; }
    n=$(find "$c" \( -type f -o -type l \) -print0 | sum_files)
    carry_total=$(( carry_total + n ))
    carry_desc+=" + $c/ $(awk -v b="$n" 'BEGIN{printf "%.2f", b/1048576}') MiB"
done
total=$(( tracked + untracked + shared + carry_total ))
mib() { awk -v b="$1" 'BEGIN{printf "%.2f", b/1048576}'; }
echo "travel-size: tracked $(mib "$tracked") MiB + untracked-not-ignored $(mib "$untracked") MiB + shared/ $(mib "$shared") MiB$carry_desc = $(mib "$total") MiB ($total bytes; limit ${limit_mib} MiB, the device tool refuses 64)"
if (( total > limit_mib * 1048576 )); then
    echo "travel-size: FAIL: $(mib "$total") MiB is over ${limit_mib} MiB" >&2
    exit 1
fi
