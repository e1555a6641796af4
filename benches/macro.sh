#!/usr/bin/env bash
# Macro benchmark: generate data at each scale, run `xborder analyze` end to end (PDF
# included) under /usr/bin/time -v, check its results against what the generator planted,
# and run two baselines on the same data: DuckDB SQL and a pandas + maxminddb script.
#
# usage: benches/macro.sh [SCALE...]        e.g. benches/macro.sh 1e6   (quick)
#                                                benches/macro.sh 1e7 1e8
# env:   FORMATS="tsv gzip"  (also: parquet: conn logs as Parquet, dns logs TSV)
#        BASELINES=1 (0 skips them; the baselines read Zeek TSV only, so parquet skips them)
#        WORK=$HOME/.cache/xborder-bench
# Generated data goes under $WORK (never into the repository) and is deleted after each
# scale. Needs python3 with venv; the baselines' packages come from PyPI into $WORK/venv.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${WORK:-$HOME/.cache/xborder-bench}"
FORMATS="${FORMATS:-tsv gzip}"
BASELINES="${BASELINES:-1}"
SCALES=("${@:-1e6}")
mkdir -p "$WORK"
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time || sudo apt-get install -y -qq time; }

cargo build --release --locked -q
# A copy, so rebuilding while the benchmark runs cannot change the binary under test.
cp "${CARGO_TARGET_DIR:-target}/release/xborder" "$WORK/xborder"
BIN="$WORK/xborder"
if [ "$BASELINES" = 1 ] && [ ! -x "$WORK/venv/bin/python" ]; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q duckdb pandas maxminddb
fi
PY="$WORK/venv/bin/python"
GEOIP=data/geoip/geo-whois-asn-country.mmdb
RESULTS="$WORK/results.tsv"
echo -e "scale\tformat\ttool\twall_s\tflows_per_s\tpeak_rss_mib\tinput_mb\tcheck" >>"$RESULTS"

# run NAME CMD...: wall seconds and peak RSS (MiB) from /usr/bin/time -v.
run() {
  local log="$WORK/time.log"
  /usr/bin/time -v "$@" >"$WORK/stdout.log" 2>"$log" || { cat "$log"; return 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  echo "$wall $rss"
}

# per-(vendor, product) flows,bytes_out,bytes_in from a CSV with those columns.
by_product() {
  python3 - "$1" <<'PY'
import csv, sys, collections
t = collections.defaultdict(lambda: [0, 0, 0])
for r in csv.DictReader(open(sys.argv[1])):
    k = (r["vendor"], r["product"])
    for i, c in enumerate(["flows", "bytes_out", "bytes_in"]):
        t[k][i] += int(float(r[c] or 0))
for k in sorted(t):
    print(*k, *t[k], sep="|")
PY
}

for scale in "${SCALES[@]}"; do
  flows=$(python3 -c "print(int(float('$scale')))")
  for fmt in $FORMATS; do
    data="$WORK/data-$scale-$fmt"
    out="$WORK/out-$scale-$fmt"
    rm -rf "$data" "$out"
    case "$fmt" in
      tsv) gen=() ;;
      gzip) gen=(--gzip) ;;
      parquet) gen=(--format parquet) ;;
      *) echo "unknown format $fmt (tsv, gzip or parquet)" >&2; exit 2 ;;
    esac
    echo "== $scale flows, $fmt: generating"
    "$BIN" generate --out "$data" --flows "$flows" ${gen[@]+"${gen[@]}"}
    mb=$(du -sm "$data/logs" | cut -f1)
    echo "== xborder analyze"
    read -r wall rss < <(run "$BIN" analyze "$data/logs" --sites "$data/sites.toml" \
      --period 2026-Q3 --out "$out" --quiet)
    # Correctness: per-product totals equal what the generator planted.
    if diff <(by_product "$data/expected_findings.csv") <(by_product "$out/summary_by_vendor.csv") >/dev/null; then
      check=exact
    else
      check=MISMATCH
    fi
    rate=$(python3 -c "print(round($flows/$wall))")
    echo -e "$scale\t$fmt\txborder\t$wall\t$rate\t$rss\t$mb\t$check" | tee -a "$RESULTS"
    xwall=$wall
    if [ "$BASELINES" = 1 ] && [ "$fmt" != parquet ]; then
      for tool in duckdb pandas; do
        echo "== baseline $tool"
        (cd benches/baselines && read -r w r < <(run "$PY" "${tool}_baseline.py" ../../data/vendors.toml \
            "../../$GEOIP" "$WORK/$tool.csv" "$data/logs") && echo "$w $r" >"$WORK/$tool.t")
        read -r w r <"$WORK/$tool.t"
        if diff <(by_product "$data/expected_findings.csv") <(by_product "$WORK/$tool.csv") >/dev/null; then
          c=exact
        else
          c=differs
        fi
        ratio=$(python3 -c "print(round($w/$xwall, 1))")
        echo -e "$scale\t$fmt\t$tool\t$w\t$(python3 -c "print(round($flows/$w))")\t$r\t$mb\t$c (${ratio}x xborder's time)" | tee -a "$RESULTS"
      done
    fi
    rm -rf "$data" "$out"
  done
done
echo "results appended to $RESULTS"
