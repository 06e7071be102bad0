#!/usr/bin/env bash
# format.sh: run clang-format over leadedge's C sources, with the repository's .clang-format.
#
#   scripts/format.sh check   fail (exit 1) and list every file that differs, with a short diff
#   scripts/format.sh fix     rewrite the files in place
#
# Files: every *.c / *.h that git knows (tracked, plus new files not ignored, so drift is caught
# before the commit; FORMAT_UNTRACKED=0 limits it to tracked files), minus generated code: paths matching FORMAT_EXCLUDE (an extended regex)
# and files whose first lines say "generated ... do not edit" or "@generated".
# Outside a git checkout it falls back to `find`.
set -euo pipefail

mode=${1:-check}
case "$mode" in
    check | fix) ;;
    *)
        echo "usage: $0 check|fix" >&2
        exit 2
        ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
FORMAT_EXCLUDE=${FORMAT_EXCLUDE:-'(^|/)(build[^/]*|third_party|vendor|node_modules)/'}

if ! command -v "$CLANG_FORMAT" >/dev/null 2>&1; then
    echo "format: $CLANG_FORMAT not found (Debian package clang-format; run make deps)" >&2
    exit 1
fi
if [ ! -f .clang-format ]; then
    echo "format: .clang-format missing at the repository root" >&2
    exit 1
fi

list_files() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        if [ "${FORMAT_UNTRACKED:-1}" = 1 ]; then
            git ls-files -z --cached --others --exclude-standard -- '*.c' '*.h'
        else
            git ls-files -z --cached -- '*.c' '*.h'
        fi
    else
        find . -path ./.git -prune -o -type f \( -name '*.c' -o -name '*.h' \) -printf '%P\0'
    fi
}

files=()
while IFS= read -r -d '' f; do
    [ -f "$f" ] || continue # tracked but deleted in the work tree
    if [[ "$f" =~ $FORMAT_EXCLUDE ]]; then continue; fi
    if head -n 5 -- "$f" | grep -qiE '@generated|generated .*do not edit'; then continue; fi
    files+=("$f")
done < <(list_files | sort -z)

if [ "${#files[@]}" -eq 0 ]; then
    echo "format: no C sources found"
    exit 0
fi

if [ "$mode" = fix ]; then
    "$CLANG_FORMAT" --style=file -i -- "${files[@]}"
    echo "format: formatted ${#files[@]} files with $("$CLANG_FORMAT" --version)"
    exit 0
fi

bad=()
for f in "${files[@]}"; do
    if ! "$CLANG_FORMAT" --style=file --dry-run -Werror -- "$f" >/dev/null 2>&1; then
        bad+=("$f")
    fi
done

if [ "${#bad[@]}" -eq 0 ]; then
    echo "format-check: ${#files[@]} files clean ($("$CLANG_FORMAT" --version | sed 's/^.*clang-format //'))"
    exit 0
fi

echo "format-check: ${#bad[@]} of ${#files[@]} files differ from .clang-format:" >&2
printf '  %s\n' "${bad[@]}" >&2
# A short diff of the first offenders, so a CI log says what drifted without a rerun.
shown=0
for f in "${bad[@]}"; do
    [ "$shown" -lt 3 ] || break
    echo "--- $f (first lines of the diff)" >&2
    "$CLANG_FORMAT" --style=file -- "$f" | diff -u --label "$f" --label "$f (formatted)" -- "$f" - |
        head -n 30 >&2 || true
    shown=$((shown + 1))
done
echo "format-check: run \`make format\` to fix." >&2
exit 1
