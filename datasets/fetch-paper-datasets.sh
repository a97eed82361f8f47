#!/usr/bin/env bash
# Fetches the paper's other datasets (Liao, Leibo & Poggio, AAAI-16) from their official sources into
# the data directory asymbp reads: $ASYMBP_DATA if set, else datasets/cache next to this script.
# For users who are online; the project's build machines cannot reach these hosts, and the script says
# so and stops when a download fails.
#
#   datasets/fetch-paper-datasets.sh NAME...   NAME: cifar10 cifar100 svhn stl10 caltech101 caltech256
#                                                    fmd indoor67 lfw pubfig facescrub icubworld | all
#
# Checksums: where the publisher prints one (CIFAR) it is used; where only a widely used mirror or
# loader publishes one (torchvision, scikit-learn) that is used and labelled so; where none exists
# the script says "no published checksum" and only checks that the archive unpacks.
# After fetching, load with Datasets.load("NAME") or the CLI's --dataset NAME.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="${ASYMBP_DATA:-$here/cache}"
downloads="$data/downloads"

die() { echo "fetch-paper-datasets.sh: error: $*" >&2; exit 1; }
say() { echo "fetch-paper-datasets.sh: $*"; }

for tool in tar sha256sum md5sum; do command -v "$tool" >/dev/null || die "'$tool' is required"; done

# download URL FILE: resumable, fails with a clear message (most often: no route to the host).
download() {
    local url=$1 out=$2
    mkdir -p "$(dirname "$out")"
    if [ -s "$out" ]; then say "have $(basename "$out")"; return 0; fi
    say "downloading $url"
    local ok=0
    if command -v curl >/dev/null; then
        curl -fL --connect-timeout 20 --retry 2 -C - -o "$out.part" "$url" && ok=1
    elif command -v wget >/dev/null; then
        wget -c -T 20 -O "$out.part" "$url" && ok=1
    else
        die "neither curl nor wget is installed"
    fi
    [ "$ok" = 1 ] || die "download of $url failed (is the host reachable from here? a partial file stays in $out.part for resuming)"
    mv "$out.part" "$out"
}

# check FILE ALGO HASH SOURCE: ALGO md5 or sha256.
check() {
    local file=$1 algo=$2 want=$3 source=$4 got
    got=$("${algo}sum" "$file" | cut -d' ' -f1)
    [ "$got" = "$want" ] || die "$file: $algo is $got, expected $want ($source); delete it and retry"
    say "$(basename "$file"): $algo verified ($source)"
}

done_marker() { [ -f "$data/$1/.asymbp-complete" ]; }
mark_done() { touch "$data/$1/.asymbp-complete"; say "$1: ready in $data/$1"; }

fetch_cifar10() {
    done_marker cifar10 && { say "cifar10: already present"; return; }
    local f=$downloads/cifar-10-binary.tar.gz
    download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz "$f"
    check "$f" md5 c32a1d4ab5d03f1284b67883e8d87530 "published on https://www.cs.toronto.edu/~kriz/cifar.html"
    mkdir -p "$data/cifar10" && tar -xzf "$f" -C "$data/cifar10"   # -> cifar-10-batches-bin/
    mark_done cifar10
}

fetch_cifar100() {
    done_marker cifar100 && { say "cifar100: already present"; return; }
    local f=$downloads/cifar-100-binary.tar.gz
    download https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz "$f"
    check "$f" md5 03b5dce01913d631647c71ecec9e9cb8 "published on https://www.cs.toronto.edu/~kriz/cifar.html"
    mkdir -p "$data/cifar100" && tar -xzf "$f" -C "$data/cifar100"   # -> cifar-100-binary/
    mark_done cifar100
}

fetch_svhn() {
    done_marker svhn && { say "svhn: already present"; return; }
    # No checksum is published by the SVHN site; these MD5s are torchvision's (datasets/svhn.py).
    local base=http://ufldl.stanford.edu/housenumbers
    mkdir -p "$data/svhn"
    download $base/train_32x32.mat "$data/svhn/train_32x32.mat"
    check "$data/svhn/train_32x32.mat" md5 e26dedcc434d2e4c54c9b2d4a06d8373 "torchvision; SVHN publishes none"
    download $base/test_32x32.mat "$data/svhn/test_32x32.mat"
    check "$data/svhn/test_32x32.mat" md5 eb5a983be6a315427106f1b164d9cef3 "torchvision; SVHN publishes none"
    if [ "${SVHN_EXTRA:-0}" = 1 ]; then   # 1.3 GB; load with svhn?extra=1
        download $base/extra_32x32.mat "$data/svhn/extra_32x32.mat"
        check "$data/svhn/extra_32x32.mat" md5 a93ce644f1a588dc4d68dda5feec44a7 "torchvision; SVHN publishes none"
    fi
    mark_done svhn
}

fetch_stl10() {
    done_marker stl10 && { say "stl10: already present"; return; }
    local f=$downloads/stl10_binary.tar.gz
    download http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz "$f"
    check "$f" md5 91f7769df0f17e558f3565bffb0c7dfb "torchvision; the STL-10 page publishes none"
    mkdir -p "$data/stl10" && tar -xzf "$f" -C "$data/stl10"   # -> stl10_binary/ (2.6 GB with unlabeled_X.bin)
    mark_done stl10
}

# Moves the class folders of an extracted tree into $data/NAME (the folder loader's root).
install_tree() {
    local src=$1 name=$2
    [ -d "$src" ] || die "$src: expected folder not found in the archive (layout changed?)"
    mkdir -p "$data/$name"
    find "$src" -mindepth 1 -maxdepth 1 -exec mv -t "$data/$name" {} +
}

fetch_caltech101() {
    done_marker caltech101 && { say "caltech101: already present"; return; }
    command -v unzip >/dev/null || die "'unzip' is required for caltech101"
    local z=$downloads/caltech-101.zip tmp
    download "https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip?download=1" "$z"
    say "caltech-101.zip: no checksum of the zip is published; checking the inner archive"
    tmp=$(mktemp -d "$downloads/c101.XXXX")
    unzip -q "$z" -d "$tmp"
    local inner; inner=$(find "$tmp" -name 101_ObjectCategories.tar.gz | head -n1)
    [ -n "$inner" ] || die "$z: no 101_ObjectCategories.tar.gz inside"
    check "$inner" md5 b224c7392d521a49829488ab0f1120d9 "torchvision, for the original vision.caltech.edu archive"
    tar -xzf "$inner" -C "$tmp"
    # BACKGROUND_Google is clutter, not a class (the usual protocol drops it).
    mkdir -p "$data/caltech101-extra" && mv "$tmp/101_ObjectCategories/BACKGROUND_Google" "$data/caltech101-extra/" 2>/dev/null || true
    install_tree "$tmp/101_ObjectCategories" caltech101
    rm -rf "$tmp"
    mark_done caltech101
}

fetch_caltech256() {
    done_marker caltech256 && { say "caltech256: already present"; return; }
    local f=$downloads/256_ObjectCategories.tar tmp
    download "https://data.caltech.edu/records/nyy15-4j048/files/256_ObjectCategories.tar?download=1" "$f"
    check "$f" md5 67b4f42ca05d46448c6bb8ecd2220f6d "torchvision, for the original vision.caltech.edu archive"
    tmp=$(mktemp -d "$downloads/c256.XXXX")
    tar -xf "$f" -C "$tmp"
    install_tree "$tmp/256_ObjectCategories" caltech256   # 257 folders including 257.clutter
    rm -rf "$tmp"
    mark_done caltech256
}

fetch_fmd() {
    done_marker fmd && { say "fmd: already present"; return; }
    command -v unzip >/dev/null || die "'unzip' is required for fmd"
    local z=$downloads/FMD.zip tmp
    download http://people.csail.mit.edu/celiu/CVPR2010/FMD/FMD.zip "$z"
    say "FMD.zip: no published checksum"
    tmp=$(mktemp -d "$downloads/fmd.XXXX")
    unzip -q "$z" -d "$tmp"
    local img; img=$(find "$tmp" -maxdepth 2 -type d -name image | head -n1)
    install_tree "$img" fmd   # 10 materials x 100 images (mask/ is not used)
    rm -rf "$tmp"
    mark_done fmd
}

fetch_indoor67() {
    done_marker indoor67 && { say "indoor67: already present"; return; }
    local f=$downloads/indoorCVPR_09.tar tmp
    download http://groups.csail.mit.edu/vision/LabelMe/NewImages/indoorCVPR_09.tar "$f"
    download http://web.mit.edu/torralba/www/TrainImages.txt "$downloads/indoor67-TrainImages.txt"
    download http://web.mit.edu/torralba/www/TestImages.txt "$downloads/indoor67-TestImages.txt"
    say "indoorCVPR_09.tar: no published checksum"
    tmp=$(mktemp -d "$downloads/i67.XXXX")
    tar -xf "$f" -C "$tmp"
    [ -d "$tmp/Images" ] || die "$f: no Images/ folder inside"
    # The official split (80 train + 20 test per class) becomes train/ and test/ trees.
    local split line
    for split in Train Test; do
        local dest=$data/indoor67/$(echo $split | tr 'A-Z' 'a-z')
        while IFS= read -r line || [ -n "$line" ]; do
            line=${line%$'\r'}; [ -n "$line" ] || continue
            [ -f "$tmp/Images/$line" ] || die "$split list names $line, missing from the archive"
            mkdir -p "$dest/$(dirname "$line")" && mv "$tmp/Images/$line" "$dest/$line"
        done < "$downloads/indoor67-${split}Images.txt"
    done
    rm -rf "$tmp"
    mark_done indoor67
}

fetch_lfw() {
    done_marker lfw && { say "lfw: already present"; return; }
    local f=$downloads/lfw.tgz tmp
    # The UMass original (http://vis-www.cs.umass.edu/lfw/lfw.tgz) publishes no checksum; scikit-learn's
    # figshare copy of the same archive does.
    download https://ndownloader.figshare.com/files/5976018 "$f"
    check "$f" sha256 055f7d9c632d7370e6fb4afc7468d40f970c34a80d4c6f50ffec63f5a8d536c0 "scikit-learn (sklearn/datasets/_lfw.py)"
    tmp=$(mktemp -d "$downloads/lfw.XXXX")
    tar -xzf "$f" -C "$tmp"
    install_tree "$tmp/lfw" lfw   # 5,749 people; use lfw?min-per-class=20 or so
    rm -rf "$tmp"
    mark_done lfw
}

# PubFig and FaceScrub are distributed as URL lists with a per-image checksum; images come from
# their original web hosts, many of which are gone, so the result is a subset. Dead links are counted.
fetch_list_images() { # LIST_FILE NAME PERSON_COL URL_COL HASH_COL ALGO
    local list=$1 name=$2 pc=$3 uc=$4 hc=$5 algo=$6 ok=0 bad=0 person url hash out n=0
    while IFS=$'\t' read -r -a cols; do
        [ "${#cols[@]}" -gt "$hc" ] || continue
        case "${cols[0]}" in \#*|name) continue ;; esac
        person=${cols[$pc]// /_}; url=${cols[$uc]}; hash=${cols[$hc]}
        n=$((n + 1)); out=$data/$name/$person/$(printf '%06d' "$n").jpg
        [ -s "$out" ] && { ok=$((ok + 1)); continue; }
        mkdir -p "$(dirname "$out")"
        if curl -fsL --connect-timeout 10 --max-time 60 -o "$out.part" "$url" \
            && [ "$("${algo}sum" "$out.part" | cut -d' ' -f1)" = "$hash" ]; then
            mv "$out.part" "$out"; ok=$((ok + 1))
        else
            rm -f "$out.part"; bad=$((bad + 1))
        fi
    done < "$list"
    say "$name: $ok images verified ($algo from the list), $bad unavailable or changed"
    [ "$ok" -gt 0 ] || die "$name: no image could be downloaded (no network?)"
}

fetch_pubfig() {
    done_marker pubfig && { say "pubfig: already present"; return; }
    command -v curl >/dev/null || die "'curl' is required for pubfig"
    local base=http://www.cs.columbia.edu/CAVE/databases/pubfig/download
    download $base/dev_urls.txt "$downloads/pubfig-dev_urls.txt"
    download $base/eval_urls.txt "$downloads/pubfig-eval_urls.txt"
    say "pubfig: lists carry an MD5 per image (columns: person, imagenum, url, rect, md5sum); faces are not cropped"
    local l
    for l in dev eval; do fetch_list_images "$downloads/pubfig-${l}_urls.txt" pubfig 0 2 4 md5; done
    mark_done pubfig
}

fetch_facescrub() {
    done_marker facescrub && { say "facescrub: already present"; return; }
    command -v curl >/dev/null || die "'curl' is required for facescrub"
    # The lists are given out on request at http://vintage.winklerbros.net/facescrub.html.
    local lists=$data/facescrub-lists f found=0
    for f in facescrub_actors.txt facescrub_actresses.txt; do
        [ -f "$lists/$f" ] || continue
        found=1
        fetch_list_images "$lists/$f" facescrub 0 3 5 sha256   # name, image_id, face_id, url, bbox, sha256
    done
    [ "$found" = 1 ] || die "put facescrub_actors.txt and facescrub_actresses.txt (from http://vintage.winklerbros.net/facescrub.html) in $lists and rerun"
    mark_done facescrub
}

fetch_icubworld() {
    done_marker icubworld && { say "icubworld: already present"; return; }
    die "iCubWorld has no stable direct-download URL or published checksum: download it from
  https://robotology.github.io/iCubWorld/ (iCubWorld 1.0 / iCubWorld28), then arrange it as
  $data/icubworld/train/<class>/... and $data/icubworld/test/<class>/... (images in any subfolders),
  and run: touch $data/icubworld/.asymbp-complete"
}

[ $# -gt 0 ] || { sed -n '2,14p' "$0"; exit 2; }
names=("$@")
[ "${names[0]}" = all ] && names=(cifar10 cifar100 svhn stl10 caltech101 caltech256 fmd indoor67 lfw pubfig facescrub icubworld)
mkdir -p "$downloads"
for n in "${names[@]}"; do
    case "$n" in
        cifar10|cifar100|svhn|stl10|caltech101|caltech256|fmd|indoor67|lfw|pubfig|facescrub|icubworld) "fetch_$n" ;;
        *) die "unknown dataset '$n'; expected cifar10 cifar100 svhn stl10 caltech101 caltech256 fmd indoor67 lfw pubfig facescrub icubworld or all" ;;
    esac
done
