#!/usr/bin/env bash
# `kiln build` of a model whose weights file is large executes the driver
# again with glibc.malloc.hugetlb=1 in GLIBC_TUNABLES (tools/kiln/huge_pages.h),
# which the C++ compiler it runs inherits; the program is the same. Checked
# with the size threshold lowered to 0 (LeNet's 248 KB stand in for a large
# file) and a --cxx wrapper that records the compiler's environment: the
# tunable is added (after a tunable the caller set), not added under the
# default 64 MiB threshold nor with KILN_HUGE_PAGES=0, and the program's
# output matches PyTorch's; where the caller set no tunable, the
# environment kiln itself ran with (/proc/PPID/environ seen from the
# compiler) shows it was executed again. Skipped (exit 77) when the kernel's transparent
# huge pages are not `madvise`, where the driver leaves the run alone.
# usage: huge_pages.sh KILN MODEL_DIR WORKDIR
set -euo pipefail
kiln=$1 dir=$2 work=$3
python=${KILN_PYTHON:-/usr/bin/python3}
thp=/sys/kernel/mm/transparent_hugepage/enabled
if ! grep -qF '[madvise]' "$thp" 2>/dev/null; then
  echo "skipped: transparent huge pages are '$(cat "$thp" 2>/dev/null || echo absent)', not madvise"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work"
cat > "$work/cxx.sh" <<'SH'
#!/usr/bin/env bash
echo "GLIBC_TUNABLES=${GLIBC_TUNABLES-}" >> "$KILN_TEST_ENV_LOG"
# The environment kiln itself was executed with (/proc/PID/environ is the
# one given to execve): it holds the tunable only if kiln ran again.
echo "kiln: $(tr '\0' '\n' < /proc/$PPID/environ | grep '^GLIBC_TUNABLES=' || true)" >> "$KILN_TEST_ENV_LOG.kiln"
exec c++ "$@"
SH
chmod +x "$work/cxx.sh"
export KILN_TEST_ENV_LOG=$work/env.log

fails=0
build() { # label, expected GLIBC_TUNABLES, whether to check kiln's own
  # environment (glibc may rewrite a tunable string the caller set), then
  # env assignments for kiln
  local label=$1 want=$2 check_kiln=$3; shift 3
  : > "$KILN_TEST_ENV_LOG"
  : > "$KILN_TEST_ENV_LOG.kiln"
  env "$@" "$kiln" build "$dir/model.json" --cxx="$work/cxx.sh" -o "$work/prog"
  local got kiln_env want_kiln=""
  got=$(sort -u "$KILN_TEST_ENV_LOG")
  kiln_env=$(sort -u "$KILN_TEST_ENV_LOG.kiln")
  [ -z "$want" ] || want_kiln="GLIBC_TUNABLES=$want"
  if [ "$got" != "GLIBC_TUNABLES=$want" ]; then
    echo "FAIL: $label: the compiler saw '$got', expected 'GLIBC_TUNABLES=$want'"
    fails=$((fails + 1))
  elif [ "$check_kiln" = yes ] && [ "$kiln_env" != "kiln: $want_kiln" ]; then
    echo "FAIL: $label: kiln was executed with '$kiln_env', expected 'kiln: $want_kiln'"
    fails=$((fails + 1))
  else
    echo "ok: $label: $got; $kiln_env"
  fi
}
build "large file" glibc.malloc.hugetlb=1 yes -u GLIBC_TUNABLES KILN_HUGE_PAGES_MIN_BYTES=0
"$work/prog" --input x="$dir/input_x.npy" --output y="$work/y.npy"
"$python" "$(dirname "$0")/compare_npy.py" "$work/y.npy" "$dir/expected_y.npy"
build "caller's tunable kept" glibc.malloc.check=0:glibc.malloc.hugetlb=1 no \
  GLIBC_TUNABLES=glibc.malloc.check=0 KILN_HUGE_PAGES_MIN_BYTES=0
build "small file" "" yes -u GLIBC_TUNABLES -u KILN_HUGE_PAGES_MIN_BYTES
build "turned off" "" yes -u GLIBC_TUNABLES KILN_HUGE_PAGES=0 KILN_HUGE_PAGES_MIN_BYTES=0
[ $fails -eq 0 ] && echo "PASS: huge_pages" || { echo "FAIL: $fails case(s)"; exit 1; }
