#!/usr/bin/env bash
# Macro benchmark: for each traffic mix and scale, generate data, run `xborder analyze` end
# to end (PDF included) under /usr/bin/time -v, check its results against what the
# generator planted, and run the baselines on the same files:
#   duckdb  benches/baselines/duckdb_same_work.py: DuckDB SQL doing xborder's work (dedup,
#           per-client ASOF DNS join with the TTL window, GeoIP, vendors, sites, SHA-256 of
#           the inputs, evidence.csv and evidence.parquet); it checks in the run that its
#           four tables and evidence.csv are byte-identical to xborder's and that its
#           evidence.parquet holds the same rows
#   pandas  benches/baselines/pandas_baseline.py: the script a user would otherwise write
#           (less work: no per-client DNS window, dedup within 2 M-row chunks); checked on
#           per-product totals against the plan
#   simple  benches/baselines/duckdb_baseline.py: the earlier, reduced DuckDB query (not
#           run unless named)
#
# usage: benches/macro.sh [SCALE...]        e.g. benches/macro.sh 1e6   (quick)
#                                                benches/macro.sh 1e7 1e8
# env:   MIXES="typical ai-heavy"  typical: the generator's default mix (~0.8 % of flows to
#                                  AI vendors); ai-heavy: --ai-share $AI_SHARE (0.8)
#        FORMATS="tsv"  (also gzip; parquet: conn logs as Parquet, xborder only)
#        BASELINES="duckdb pandas"  (also simple; "" runs xborder alone)
#        WORK=$HOME/.cache/xborder-bench
#        SELF_CHECK=1  (0 skips checking the DuckDB baseline on data/sample first)
#        XBORDER=path/to/xborder  (use this binary instead of building a release; figures
#                                  only from a release build)
#        XBORDER_ARGS="--evidence parquet"  (extra options for every xborder run, shown in
#                                  the format column; at 10^8 AI-heavy flows evidence.csv
#                                  alone is ~37 GB. The DuckDB baseline is given the same
#                                  --evidence, and writes and compares only those files)
# Generated data goes under $WORK (never into the repository) and is deleted after each
# run. Needs python3 with venv; the baselines' packages come from PyPI into $WORK/venv.
# Prints one row per tool: wall time, flows/s, peak RSS, the tool's time and peak RSS as
# a multiple of xborder's, and the check; the rows are appended to $WORK/results.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${WORK:-$HOME/.cache/xborder-bench}"
MIXES="${MIXES:-typical ai-heavy}"
AI_SHARE="${AI_SHARE:-0.8}"
FORMATS="${FORMATS:-tsv}"
BASELINES="${BASELINES-duckdb pandas}"
SCALES=("${@:-1e6}")
read -r -a XARGS <<<"${XBORDER_ARGS:-}"
# The evidence files xborder writes, for the same-work baseline.
EVIDENCE=csv,parquet
for i in "${!XARGS[@]}"; do
  case "${XARGS[$i]}" in
    --evidence) EVIDENCE="${XARGS[$((i + 1))]:-}" ;;
    --evidence=*) EVIDENCE="${XARGS[$i]#--evidence=}" ;;
  esac
done
mkdir -p "$WORK"
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time || sudo apt-get install -y -qq time; }

if [ -n "${XBORDER:-}" ]; then
  cp "$XBORDER" "$WORK/xborder"   # a given binary (e.g. a debug build to try the script)
else
  cargo build --release --locked -q
  # A copy, so rebuilding while the benchmark runs cannot change the binary under test.
  cp "${CARGO_TARGET_DIR:-target}/release/xborder" "$WORK/xborder"
fi
BIN="$WORK/xborder"
if [ -n "$BASELINES" ] && [ ! -x "$WORK/venv/bin/python" ]; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q duckdb pandas maxminddb
fi
PY="$WORK/venv/bin/python"
GEOIP=data/geoip/geo-whois-asn-country.mmdb
RESULTS="$WORK/macro-results.tsv"
ROWS="$WORK/rows.$$.tsv"
: >"$ROWS"
[ -s "$RESULTS" ] || echo -e "mix\tscale\tformat\ttool\twall_s\tflows_per_s\tpeak_rss_mib\ttime_x_xborder\trss_x_xborder\tcheck" >"$RESULTS"

# run LOG CMD...: "wall_seconds peak_rss_mib exit_code" from /usr/bin/time -v.
run() {
  local log="$1"; shift
  local rc=0
  # Every tool starts with nothing waiting to be written back: the generator's logs and
  # the previous tool's outputs (gigabytes of evidence on the AI-heavy mix) would
  # otherwise be flushed during, and charged to, the next timed run.
  sync
  /usr/bin/time -v "$@" >"$log.out" 2>"$log" || rc=$?
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  echo "${wall:-0} ${rss:-0} $rc"
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

# row MIX SCALE FORMAT TOOL WALL RSS CHECK: print and record one result.
row() {
  local line
  line=$(python3 - "$@" "$flows" "$xwall" "$xrss" <<'PY'
import sys
mix, scale, fmt, tool, wall, rss, check, flows, xwall, xrss = sys.argv[1:]
wall, rss, flows = float(wall), float(rss), int(flows)
tx = f"{wall / float(xwall):.2f}" if tool != "xborder" else "1"
rx = f"{rss / float(xrss):.2f}" if tool != "xborder" else "1"
print("\t".join([mix, scale, fmt, tool, f"{wall:.2f}", f"{flows / wall:.0f}" if wall else "-",
                 f"{rss:.0f}", tx, rx, check]))
PY
)
  echo "$line" | tee -a "$RESULTS" >>"$ROWS"
  echo "   $line"
}

# Before timing anything: the same-work baseline must reproduce xborder byte for byte on
# the committed sample quarter (a gzip file, an extra _node_name column, a CDN address
# shared by an AI host and a shop, IPv6, DNS-over-HTTPS, an unknown site).
if [[ " $BASELINES " == *" duckdb "* ]] && [ "${SELF_CHECK:-1}" = 1 ]; then
  echo "== self-check: duckdb_same_work.py on data/sample"
  rm -rf "$WORK/sample-out" "$WORK/sample-logs" "$WORK/sample-baseline"
  mkdir -p "$WORK/sample-logs"
  cp data/sample/conn.* data/sample/dns.* "$WORK/sample-logs/"
  "$BIN" analyze "$WORK/sample-logs" --sites data/sample/sites.toml --period 2026-Q3 \
    --out "$WORK/sample-out" --quiet
  "$PY" benches/baselines/duckdb_same_work.py --logs "$WORK/sample-logs" \
    --sites data/sample/sites.toml --vendors data/vendors.toml --geoip "$GEOIP" \
    --period 2026-Q3 --xborder-out "$WORK/sample-out" --out "$WORK/sample-baseline" 2>&1 |
    grep -E "identical|DIFFERS|baseline:|xborder:|duckdb_same_work" | sed 's/^/     /'
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "the same-work baseline differs from xborder on data/sample" >&2; exit 1; }
  rm -rf "$WORK/sample-out" "$WORK/sample-logs" "$WORK/sample-baseline"
fi

for scale in "${SCALES[@]}"; do
  flows=$(python3 -c "print(int(float('$scale')))")
  for mix in $MIXES; do
    case "$mix" in
      typical) mixgen=() ;;
      ai-heavy) mixgen=(--ai-share "$AI_SHARE") ;;
      *) echo "unknown mix $mix (typical or ai-heavy)" >&2; exit 2 ;;
    esac
    for fmt in $FORMATS; do
      data="$WORK/data-$mix-$scale-$fmt"
      out="$WORK/out-$mix-$scale-$fmt"
      rm -rf "$data" "$out" "$WORK"/baseline-out
      case "$fmt" in
        tsv) gen=() ;;
        gzip) gen=(--gzip) ;;
        parquet) gen=(--format parquet) ;;
        *) echo "unknown format $fmt (tsv, gzip or parquet)" >&2; exit 2 ;;
      esac
      echo "== $mix, $scale flows, $fmt: generating"
      "$BIN" generate --out "$data" --flows "$flows" ${gen[@]+"${gen[@]}"} ${mixgen[@]+"${mixgen[@]}"}
      echo "== xborder analyze"
      read -r xwall xrss rc < <(run "$WORK/time.xborder" "$BIN" analyze "$data/logs" \
        --sites "$data/sites.toml" --period 2026-Q3 --out "$out" --quiet ${XARGS[@]+"${XARGS[@]}"})
      [ "$rc" = 0 ] || { cat "$WORK/time.xborder"; exit 1; }
      # Correctness: per-product totals equal what the generator planted.
      if diff <(by_product "$data/expected_findings.csv") <(by_product "$out/summary_by_vendor.csv") >/dev/null; then
        check="exact (plan)"
      else
        check="MISMATCH (plan)"
      fi
      label="$fmt${XBORDER_ARGS:+ ($XBORDER_ARGS)}"
      row "$mix" "$scale" "$label" xborder "$xwall" "$xrss" "$check"
      if [ "$fmt" != parquet ]; then
        for tool in $BASELINES; do
          echo "== baseline $tool"
          case "$tool" in
            duckdb)
              read -r w r rc < <(run "$WORK/time.$tool" "$PY" benches/baselines/duckdb_same_work.py \
                --logs "$data/logs" --sites "$data/sites.toml" --vendors data/vendors.toml \
                --geoip "$GEOIP" --period 2026-Q3 --xborder-out "$out" --out "$WORK/baseline-out" \
                --evidence "$EVIDENCE")
              grep -E "identical|DIFFERS|baseline:|xborder:|duckdb_same_work:|Error" "$WORK/time.$tool" | sed 's/^/     /' || true
              # Exit 1 with a DIFFERS line is a difference; anything else is a failure to
              # finish (out of memory, no disk for DuckDB's spill files), not a timing.
              if [ "$rc" = 0 ]; then
                case "$EVIDENCE" in
                  csv) c="5 CSVs identical" ;;
                  parquet) c="4 CSVs identical, Parquet rows equal" ;;
                  *) c="5 CSVs identical, Parquet rows equal" ;;
                esac
              elif grep -q "DIFFERS" "$WORK/time.$tool"; then c="DIFFERS (exit $rc)"
              else c="FAILED (exit $rc): $(grep -E "Error|Killed" "$WORK/time.$tool" | tail -1 | cut -c1-80)"; fi ;;
            pandas|simple)
              script=pandas_baseline.py
              [ "$tool" = simple ] && script=duckdb_baseline.py
              read -r w r rc < <(cd benches/baselines && run "$WORK/time.$tool" "$PY" "$script" \
                ../../data/vendors.toml "../../$GEOIP" "$WORK/$tool.csv" "$data/logs")
              if [ "$rc" != 0 ]; then
                c="FAILED (exit $rc)"
              elif diff <(by_product "$data/expected_findings.csv") <(by_product "$WORK/$tool.csv") >/dev/null; then
                c="exact (plan totals only)"
              else
                c="differs (plan totals)"
              fi ;;
            *) echo "unknown baseline $tool (duckdb, pandas or simple)" >&2; exit 2 ;;
          esac
          row "$mix" "$scale" "$label" "$tool" "$w" "$r" "$c"
        done
      fi
      rm -rf "$data" "$out" "$WORK"/baseline-out
    done
  done
done
echo
echo "== summary (time_x and rss_x: the tool's wall time and peak RSS as multiples of xborder's)"
( echo -e "mix\tscale\tformat\ttool\twall_s\tflows_per_s\tpeak_rss_mib\ttime_x\trss_x\tcheck"; cat "$ROWS" ) | column -t -s $'\t'
echo "results appended to $RESULTS"
if grep -qE "MISMATCH|DIFFERS|FAILED" "$ROWS"; then rm -f "$ROWS"; exit 1; fi
rm -f "$ROWS"
