#!/usr/bin/env bash
# Fetches the real datasets that Debian's apt serves (Fashion-MNIST, scikit-learn's digits) into the
# data directory that asymbp reads: $ASYMBP_DATA if set, else datasets/cache next to this script.
# Verifies the published SHA-256 values; running it again only re-checks the files.
#
#   datasets/fetch.sh [fashion-mnist|digits|all]      (default: all)
#
# MNIST needs no fetching: it is embedded in the jar (datasets/mnist/).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="${ASYMBP_DATA:-$here/cache}"

die() { echo "fetch.sh: error: $*" >&2; exit 1; }
say() { echo "fetch.sh: $*"; }

# SHA-256 of the decompressed bytes (Debian recompressed Fashion-MNIST, so the .gz bytes differ from upstream).
fashion_files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
fashion_sha=(c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
             bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
             5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
             0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34)
# Upstream (Zalando) copies, used only where apt-get is unavailable; same decompressed bytes.
fashion_url=https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion

# digits.csv.gz as python3-sklearn (Debian bookworm, 1.2.1) ships it, and its decompressed content.
digits_gz_sha=46abec6b12486ad9e51943373abcf22bbea1b5a51a1619b361570d8893f1464a
digits_csv_sha=6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8
digits_url=https://raw.githubusercontent.com/scikit-learn/scikit-learn/1.2.1/sklearn/datasets/data/digits.csv.gz

for tool in sha256sum gzip; do command -v "$tool" >/dev/null || die "'$tool' is required but not installed"; done

# Temporary folders are removed on any exit, including errors.
tmpdirs=()
cleanup() { [ ${#tmpdirs[@]} -eq 0 ] || rm -rf "${tmpdirs[@]}"; }
trap cleanup EXIT
new_tmp() { local t; t=$(mktemp -d); tmpdirs+=("$t"); tmp=$t; }

gz_sha() { gzip -dc "$1" | sha256sum | cut -d' ' -f1; }
file_sha() { sha256sum "$1" | cut -d' ' -f1; }

# apt-get download PACKAGE into the current directory; refreshes the package lists once if needed
# (as root, or through passwordless sudo as on CI runners). Returns non-zero instead of exiting so the
# caller can fall back to the upstream copy.
apt_download() {
    local pkg=$1
    if apt-get download "$pkg" >/dev/null 2>apt.err; then return 0; fi
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
            say "apt-get download $pkg failed and apt-get update needs root: $(tail -n1 apt.err)"
            return 1
        fi
    fi
    say "apt-get download $pkg failed; running apt-get update and retrying"
    if $sudo apt-get update >/dev/null 2>&1 && apt-get download "$pkg" >/dev/null 2>apt.err; then return 0; fi
    say "apt-get download $pkg still fails: $(tail -n1 apt.err)"
    return 1
}

# Extracts PACKAGE's .deb into ./out; non-zero if apt cannot provide it.
fetch_deb() {
    local pkg=$1 deb
    apt_download "$pkg" || return 1
    deb=$(ls "$pkg"_*.deb 2>/dev/null | head -n1) || true
    [ -n "$deb" ] || { say "apt-get download $pkg produced no .deb file"; return 1; }
    dpkg -x "$deb" out || { say "dpkg -x $deb failed"; return 1; }
}

have_apt() { command -v apt-get >/dev/null && command -v dpkg >/dev/null; }

download() { # URL FILE
    if command -v curl >/dev/null; then curl -fsSL --connect-timeout 20 --retry 2 -o "$2" "$1" || { rm -f "$2"; die "download of $1 failed (no apt route and no network route)"; }
    elif command -v wget >/dev/null; then wget -q -T 20 -O "$2" "$1" || { rm -f "$2"; die "download of $1 failed (no apt route and no network route)"; }
    else die "neither apt-get nor curl nor wget is available to fetch $1"; fi
}

fashion_ok() {
    local dest=$data/fashion-mnist i
    for i in 0 1 2 3; do
        [ -f "$dest/${fashion_files[$i]}.gz" ] || return 1
        [ "$(gz_sha "$dest/${fashion_files[$i]}.gz")" = "${fashion_sha[$i]}" ] || return 1
    done
}

fetch_fashion() {
    local dest=$data/fashion-mnist
    if fashion_ok; then say "fashion-mnist: already in $dest, SHA-256 verified"; return; fi
    local tmp; new_tmp
    mkdir -p "$dest"
    if have_apt && (cd "$tmp" && fetch_deb dataset-fashion-mnist); then
        for f in "${fashion_files[@]}"; do
            local src=$tmp/out/usr/share/datasets/fashion-mnist/$f.gz
            [ -f "$src" ] || die "dataset-fashion-mnist has no $f.gz (package layout changed?)"
            cp "$src" "$dest/$f.gz"
        done
    else
        say "fashion-mnist: no apt route, downloading from $fashion_url"
        for f in "${fashion_files[@]}"; do download "$fashion_url/$f.gz" "$dest/$f.gz"; done
    fi
    local i got
    for i in 0 1 2 3; do
        got=$(gz_sha "$dest/${fashion_files[$i]}.gz")
        [ "$got" = "${fashion_sha[$i]}" ] || die "$dest/${fashion_files[$i]}.gz: SHA-256 of the decompressed data is $got, expected ${fashion_sha[$i]}"
    done
    say "fashion-mnist: 4 files in $dest, SHA-256 verified (licence: MIT, (c) Zalando SE)"
}

digits_ok() {
    local f=$data/digits/digits.csv.gz
    [ -f "$f" ] && [ "$(gz_sha "$f")" = "$digits_csv_sha" ]
}

fetch_digits() {
    local dest=$data/digits
    if digits_ok; then say "digits: already in $dest, SHA-256 verified"; return; fi
    local tmp; new_tmp
    mkdir -p "$dest"
    if have_apt && (cd "$tmp" && fetch_deb python3-sklearn); then
        local src=$tmp/out/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz
        [ -f "$src" ] || die "python3-sklearn has no sklearn/datasets/data/digits.csv.gz (package layout changed?)"
        cp "$src" "$dest/digits.csv.gz"
    else
        say "digits: no apt route, downloading from $digits_url"
        download "$digits_url" "$dest/digits.csv.gz"
    fi
    local got; got=$(gz_sha "$dest/digits.csv.gz")
    [ "$got" = "$digits_csv_sha" ] || die "$dest/digits.csv.gz: SHA-256 of the decompressed data is $got, expected $digits_csv_sha"
    if [ "$(file_sha "$dest/digits.csv.gz")" = "$digits_gz_sha" ]; then
        say "digits: $dest/digits.csv.gz, SHA-256 verified (licence: CC BY 4.0, UCI optdigits)"
    else
        say "digits: $dest/digits.csv.gz content verified (the .gz wrapper differs from Debian bookworm's, which is fine)"
    fi
}

what=${1:-all}
case "$what" in
    fashion-mnist) fetch_fashion ;;
    digits) fetch_digits ;;
    all) fetch_fashion; fetch_digits ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) die "unknown dataset '$what'; expected fashion-mnist, digits or all" ;;
esac
