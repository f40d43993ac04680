#!/usr/bin/env bash
# Checks the symbols libbeckon_c exports against the checked-in list.
#
#   check_exports.sh <nm> <libbeckon_c.so> <exported_symbols.txt> <beckon.h>
#
# Fails when the library's dynamic symbol table (nm -D --defined-only)
# differs from the list, or when the functions declared in beckon.h differ
# from it: a change to the ABI must be made on purpose, with the list
# updated in the same change.
set -euo pipefail

if [[ $# -ne 4 ]]; then
  echo "usage: $0 <nm> <library> <exported_symbols.txt> <beckon.h>" >&2
  exit 2
fi
nm_bin=$1 lib=$2 list=$3 header=$4
fail=0

exported=$("$nm_bin" -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' \
             | sed 's/@.*//' | LC_ALL=C sort -u)
expected=$(grep -v '^#' "$list" | sed '/^$/d' | LC_ALL=C sort -u)
# Function names declared with BECKON_EXPORT in the header.
declared=$(grep -v "^#" "$header" | tr "\n" " " \
             | grep -o 'BECKON_EXPORT[^;(]*(' \
             | sed -E 's/.*[^A-Za-z0-9_]([A-Za-z0-9_]+)\($/\1/' \
             | LC_ALL=C sort -u)

if [[ -z "$exported" ]]; then
  echo "check_exports: FAIL: $lib exports no symbols" >&2
  exit 1
fi
if [[ "$exported" != "$expected" ]]; then
  echo "check_exports: FAIL: $lib exports a different set of symbols than" \
       "$list lists (update the list only if the ABI change is intended):" >&2
  diff -u <(printf '%s\n' "$expected") <(printf '%s\n' "$exported") \
    | sed -n '3,$p' >&2 || true
  fail=1
fi
if [[ "$declared" != "$expected" ]]; then
  echo "check_exports: FAIL: the functions declared in $header differ" \
       "from $list:" >&2
  diff -u <(printf '%s\n' "$expected") <(printf '%s\n' "$declared") \
    | sed -n '3,$p' >&2 || true
  fail=1
fi
if nonprefixed=$(grep -v '^beckon_' <<<"$exported"); then
  echo "check_exports: FAIL: symbols without the beckon_ prefix:" >&2
  echo "$nonprefixed" >&2
  fail=1
fi
if [[ $fail -eq 0 ]]; then
  echo "check_exports: OK: $(wc -l <<<"$exported") symbols, as listed"
fi
exit $fail
