"""Same-work DuckDB baseline: what `xborder analyze LOGDIR --sites SITES --period P` does to
Zeek TSV conn and dns logs, in DuckDB SQL (2 threads), writing findings.csv,
summary_by_vendor.csv, daily_egress.csv, cross_border_other.csv, evidence.csv and
evidence.parquet, and checking in the same run that each CSV is byte-identical to xborder's
(exit 1 and the first differing line if not) and that evidence.parquet has xborder's schema
and the same rows in the same order (exit 1 and the first differing row if not; the bytes
of the Parquet file are not compared: another writer encodes it). With `--evidence csv` or
`--evidence parquet`, as xborder's own option, only that evidence file is written and
compared.

Done in SQL, per record, as xborder does it:
  * parse every conn and dns record and type-check every field xborder parses (ts, uid,
    addresses, ports, proto, duration, byte counts, local_orig; ts, rtt, trans_id, query,
    answers, TTLs): a value that does not parse stops the run (xborder would reject the
    record with a reason; this script does not reproduce rejects, see below);
  * flow de-duplication (docs/methodology.md, src/dedup.rs): same uid, same endpoints in
    either order, same proto, and a start in the same whole second, or within 1 ms of a
    second boundary next to an earlier record's second; the first in sorted file and line
    order counts (position = insertion order of the loaded table);
  * DNS de-duplication on (uid, ts, response time, trans_id, query, qtype, rcode, client,
    answers);
  * the period filter (flows in the period; DNS from --dns-max-age before it);
  * per-client DNS attribution (src/attribute/dns_index.rs): every address answer with its
    TTL, kept for addresses some vendor name resolved to; an ASOF JOIN on (client, address)
    picks the most recent response (ts + rtt) at or before the flow start, ties to the
    later record in input order; it counts if flow start - response <= min(TTL + grace,
    max age) (max age without a TTL). A vendor name gives `dns`; otherwise (no answer, a
    stale one, or a non-vendor name) the vendor's published range gives `ip_range`;
  * direction: egress = source in a site, special-purpose or local_orig=T, destination not
    special-purpose (RFC 6890 list as in src/geolocate/special.rs);
  * every aggregation of the four tables: sums, distinct sources, first/last seen,
    cross-border flags, per-day rows, sorting on all key columns, finding ids (SHA-256);
  * evidence (crates/report/src/evidence.rs, write_evidence in crates/engine/src/fold):
    one row per AI-vendor egress flow (from sites and unknown sources, cross-border or
    not) in reading order (conn files in sorted order, then line order), with its finding
    id, the input file's path (as xborder names it: LOGDIR as given, joined with the file
    name) and SHA-256, its physical line (Zeek's '#' header lines counted), the flow's
    fields (protocol names as xborder normalises them, unset ports and byte counts
    empty), the attribution, and for `dns` the host name and the DNS record the ASOF join
    picked: its file, SHA-256, line and response time (empty for `ip_range`). Times are
    RFC 3339 with 0, 3 or 6 fractional digits; text cells are neutralised (control
    characters escaped, a leading = + - @ prefixed with ') and CSV-quoted only where the
    csv crate quotes, once per distinct value (groups, protocols, host names, files) as
    xborder does; each line is assembled in SQL and written by COPY; evidence.parquet is
    COPY'd from the same sorted rows (counts UBIGINT, the rest VARCHAR, empty = NULL, zstd,
    row groups of 65,536 rows).
Done in Python once per distinct value, as xborder does (compute on the few): the site of
each distinct source (most specific CIDR of sites.toml), the special-purpose test, the
GeoIP country of each distinct destination (maxminddb on data/geoip, country.iso_code,
registered_country.iso_code, country_code, else ZZ), the vendor match of each distinct
query name (exact hosts, hosts generated from templates, one-label patterns in catalog
order, longest suffix; data/vendors.toml) and of each distinct destination (most specific
published range). Once per input file: its SHA-256 (hashlib, streamed; a .gz hashed as
stored) and its line structure (lines, '#' lines, trailing '#' lines such as #close, of the
decompressed text), on a thread of its own while DuckDB loads the logs.
DuckDB keeps its tables in memory when they fit, else in a database file in --out
(--storage; see connect()); its spill files go to --out too, and all of it is deleted at
exit. Each intermediate table is dropped once the last step that reads it has run.

NOT reproduced (named precisely; the script fails loudly where it would matter):
  * The legal decision per (source country, destination country, vendor, product): which
    regimes make a group a cross-border transfer, with rule id, citation and the
    transfer-basis text. It is xborder's regime engine over data/regimes.toml (regime
    kinds, adequacy windows, DPF status, importer and onward-transfer reasoning), a few
    dozen decisions per run whatever the number of flows. This script reads those
    decisions from xborder's own findings.csv and cross_border_other.csv of the same run
    (key: source country, destination country, vendor, product, category; for other
    egress: source and destination country) and joins them in SQL. So the legal columns
    are not checked independently; everything computed from flows is. If one key had two
    different transfer bases (hosts of one product with different processing scopes in
    the same countries) the script stops: that would need per-host decisions.
    Regimes are taken as constant over the period (no in_force date falls inside it).
    The same goes for evidence.csv's `regimes` column: the regimes findings.csv lists for
    the flow's key, joined by ';' in the order of data/regimes.toml (--regimes), empty for
    a source in no site. A key whose hosts had different regime sets would already make
    findings.csv differ (its per-regime flow counts would).
  * Rejects and accounting (run.json), coverage.csv, candidates.csv, conflicts.csv, the
    PDF and HTML reports: not produced. Byte counts above 2^53 and control characters in
    cells of the four tables stop the script.
  * Inputs other than Zeek TSV conn.*/dns.* logs (plain or .gz) in Zeek's default column
    order (checked on every file's #fields line); ssl.log/http.log (SNI and HTTP Host
    precedence), proxies in sites.toml, --ip-snapshot and --reverse-dns are refused.
  * Line numbers assume a record per line after the header: a blank line (DuckDB skips
    it) or '#' lines between records (concatenated logs) stop the run. A query with a
    \\xNN escape (xborder unescapes it) stops the run.
  * Addresses are compared as text: one not written canonically (as Python's ipaddress
    and Rust print it) stops the run; IPv4-mapped IPv6 flow addresses are refused.

usage: duckdb_same_work.py --logs DIR --sites SITES.toml --vendors VENDORS.toml
         --geoip DB.mmdb --period 2026-Q3 --xborder-out DIR --out DIR
         [--dns-max-age SECONDS] [--dns-ttl-grace SECONDS] [--threads N]
         [--regimes REGIMES.toml] [--storage auto|memory|file]
"""
import argparse
import atexit
import csv
import datetime as dt
import glob
import gzip
import hashlib
import io
import ipaddress
import os
import re
import shutil
import sys
import threading
import time
import tomllib
import zlib

import duckdb
import maxminddb
import pandas as pd

CONN = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes "
        "resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts "
        "orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents").split()
DNS = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto trans_id rtt query qclass "
       "qclass_name qtype qtype_name rcode rcode_name AA TC RD RA Z answers TTLs rejected").split()
OUTPUTS = ["findings.csv", "summary_by_vendor.csv", "daily_egress.csv", "cross_border_other.csv"]
EVIDENCE = ("finding_id regimes input_file input_sha256 input_line ts src_ip src_port dst_ip "
            "dst_port proto bytes_out bytes_in hostname attribution vendor product category "
            "source_site destination_country attribution_file attribution_sha256 "
            "attribution_line attribution_ts").split()


def fail(msg):
    print(f"duckdb_same_work: {msg}", file=sys.stderr)
    sys.exit(1)


def connect(out, storage, paths):
    """DuckDB, its tables in memory or in a database file in `out`. An in-memory database
    keeps its blocks uncompressed and, past memory_limit (by default 80 % of RAM), writes
    them as they are to temporary files: at 10^8 AI-heavy flows (24 GiB of RAM) that spill
    filled the ~40 GB of free disk. A database file holds the same tables compressed
    (dictionary, FSST, bit-packing; ~7x smaller), written once as they are made and evicted
    from memory without being written again; only operators (sorts, the ASOF join, hash
    tables) still spill. At 10^8 AI-heavy flows the file peaked at 5.5 GB and the spill at
    0.5 GB. But compressing every table as it is written costs time that an in-memory run
    never pays: at 10^7 flows, 25 s instead of 19.5 s (typical mix) and 48 s instead of 40.5 s
    (AI-heavy), where the in-memory tables fit in RAM. So `auto` takes the file only when
    the logs' text, three times over, would not fit in that default memory limit (the peak
    RSS of an in-memory run was 2.3 to 2.6 times the text at 10^7 flows; a .gz counts ten
    times its size, more than gzip makes of Zeek logs: too high an estimate costs only
    speed). The spill directory is in `out` either way (not the working directory), the
    file and directory are made fresh (a leftover of an interrupted run is removed) and
    deleted at exit, whatever the outcome."""
    os.makedirs(out, exist_ok=True)
    dbfile = os.path.join(out, "duckdb_same_work.duckdb")
    remove_db(dbfile)
    text = sum(os.path.getsize(p) * (10 if p.endswith(".gz") else 1) for p in paths)
    limit = 0.8 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if storage == "auto":
        storage = "file" if 3 * text > limit else "memory"
    db = duckdb.connect(dbfile if storage == "file" else ":memory:")
    atexit.register(lambda: (db.close(), remove_db(dbfile)))
    if storage == "memory":
        db.execute(f"SET temp_directory = '{sql_path(dbfile + '.tmp')}'")
    phase(f"tables {'in ' + dbfile if storage == 'file' else 'in memory'} "
          f"(logs ~{text / 1e9:.1f} GB of text, memory limit {limit / 2**30:.1f} GiB)")
    return db


def drop(db, *tables):
    """Drop tables no later step reads (an in-memory table's memory is freed at once). In a
    database file, then checkpoint: only a checkpoint hands their blocks back for the next
    tables to reuse (without it the file keeps growing: 1.1 instead of 0.55 GB at 10^7
    AI-heavy flows). Not in memory: there a checkpoint rewrites every table still held
    (6.5 s for the 10^7 conn records) and frees nothing more."""
    for t in tables:
        db.execute(f"DROP TABLE {t}")
    if db.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                  "current_database()").fetchall()[0][0]:
        db.execute("CHECKPOINT")


def remove_db(path):
    """The database file, its write-ahead log and the spill directory, if there."""
    for p in (path, path + ".wal"):
        if os.path.exists(p):
            os.remove(p)
    shutil.rmtree(path + ".tmp", ignore_errors=True)


def phase(name, t0=[time.time()]):
    now = time.time()
    print(f"  [{now - t0[0]:7.2f} s] {name}", file=sys.stderr)


# ---------------------------------------------------------------- per distinct value ----

SPECIAL_V4 = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8 10.0.0.0/8 100.64.0.0/10 127.0.0.0/8 169.254.0.0/16 172.16.0.0/12 192.0.0.0/24 "
    "192.0.2.0/24 192.31.196.0/24 192.52.193.0/24 192.88.99.0/24 192.168.0.0/16 "
    "192.175.48.0/24 198.18.0.0/15 198.51.100.0/24 203.0.113.0/24 224.0.0.0/4 240.0.0.0/4 "
    "255.255.255.255/32").split()]
SPECIAL_V6 = [ipaddress.ip_network(n) for n in (
    "::/128 ::1/128 64:ff9b:1::/48 100::/64 2001:db8::/32 3fff::/20 fc00::/7 fe80::/10 "
    "ff00::/8 ::/96").split()]


def parse_ip(text):
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        fail(f"`{text}` is not an IP address (xborder would reject the record)")
    if ip.version == 6 and ip.ipv4_mapped is not None:
        fail(f"IPv4-mapped address {text}: not reproduced by this baseline")
    if str(ip) != text:
        fail(f"`{text}` is not written in canonical form ({ip}): addresses are compared, "
             "and printed in evidence.csv, as text")
    return ip


def special(ip):
    if ip.version == 4:
        return any(ip in n for n in SPECIAL_V4)
    if ip in ipaddress.ip_network("2001::/23") and ip not in ipaddress.ip_network("2001::/32"):
        return True
    return any(ip in n for n in SPECIAL_V6)


class Sites:
    def __init__(self, path):
        with open(path, "rb") as f:
            doc = tomllib.load(f)
        self.prefixes = []
        for s in doc.get("site", []):
            if s.get("proxies"):
                fail("sites.toml declares proxies: proxy legs are not reproduced")
            for c in s.get("cidrs", []):
                net = ipaddress.ip_network(c, strict=False)
                self.prefixes.append((net, s["name"], s.get("country", "")))
        self.prefixes.sort(key=lambda p: -p[0].prefixlen)

    def lookup(self, ip):
        for net, name, country in self.prefixes:
            if ip.version == net.version and ip in net:
                return name, country
        return None


class Catalog:
    """The parts of data/vendors.toml that decide a match (src/classify/vendors.rs)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            doc = tomllib.load(f)
        regions = {r["id"]: list(r.get("regions", {})) for r in doc.get("region_list", [])}
        self.products = []  # (vendor, hq, product, category)
        self.exact, self.patterns, self.suffixes, self.ranges = {}, [], {}, []
        for v in doc["vendor"]:
            for p in v.get("product", []):
                pid = len(self.products)
                self.products.append((v["name"], v["hq_country"], p["name"], p["category"]))
                for h in p.get("hosts", []):
                    self.exact[norm(h)] = pid
                for t in p.get("host_templates", []):
                    for region in regions[t["regions"]]:
                        self.exact[norm(t["template"]).replace("{region}", region)] = pid
                for pat in p.get("host_patterns", []):
                    self.patterns.append((norm(pat).split("."), pid))
                for s in p.get("suffixes", []):
                    self.suffixes[norm(s)] = pid
                for r in p.get("ip_ranges", []):
                    self.ranges.append((ipaddress.ip_network(r), pid))
        # Most specific first, then network order (VendorCatalog::load_layered).
        self.ranges.sort(key=lambda r: (-r[0].prefixlen, r[0].version, r[0].network_address))

    def match_host(self, host):
        host = norm(host)
        if not host:
            return None
        if host in self.exact:
            return self.exact[host]
        labels = host.split(".")
        for pat, pid in self.patterns:
            if len(pat) == len(labels) and all(a == "*" or a == b for a, b in zip(pat, labels)):
                return pid
        rest = host
        while True:
            if rest in self.suffixes:
                return self.suffixes[rest]
            if "." not in rest:
                return None
            rest = rest.split(".", 1)[1]

    def match_ip(self, ip):
        for net, pid in self.ranges:
            if ip.version == net.version and ip in net:
                return pid
        return None


UPPER, LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"


def norm(name):
    return name.strip().rstrip(".").lower()


def country_of(geo, ip):
    r = geo.get(str(ip))
    if not r:
        return "ZZ"
    for path in (("country", "iso_code"), ("registered_country", "iso_code"), ("country_code",),
                 ("country",)):
        v = r
        for k in path:
            v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, str):
            code = v.strip().upper()
            if len(code) == 2 and code.isalpha() and code.isascii():
                return code
    return "ZZ"


def period_bounds(text):
    m = re.fullmatch(r"(\d{4})-Q([1-4])", text)
    if not m:
        fail(f"--period {text}: only YYYY-QN is supported")
    y, q = int(m[1]), int(m[2])
    start = dt.datetime(y, 3 * q - 2, 1, tzinfo=dt.timezone.utc)
    end = dt.datetime(y + (q == 4), 1 if q == 4 else 3 * q + 1, 1, tzinfo=dt.timezone.utc)
    return int(start.timestamp()) * 1_000_000, int(end.timestamp()) * 1_000_000


# ------------------------------------------------------------------------- inputs ------

def zeek_files(logdir, kind, required):
    """[(path, fields, header lines)] of the kind's files in sorted order, fields from each
    #fields line (columns are mapped by name, as xborder does)."""
    files = sorted(glob.glob(os.path.join(logdir, f"{kind}.*")))
    others = [f for f in sorted(os.listdir(logdir)) if re.match(r"(ssl|http)\.", f)]
    if others:
        fail(f"{others[0]}: SNI / HTTP Host attribution is not reproduced by this baseline")
    out = []
    for f in files:
        if not re.search(r"\.log(\.gz)?$", f):
            fail(f"{f}: only Zeek TSV logs (.log, .log.gz) are read by this baseline")
        opener = gzip.open if f.endswith(".gz") else open
        with opener(f, "rt", encoding="utf-8", newline="\n") as fh:
            head = []
            for line in fh:
                if not line.startswith("#"):
                    break
                head.append(line.rstrip("\n"))
        fields = next((h.split("\t")[1:] for h in head if h.startswith("#fields\t")), None)
        if fields is None or any(r not in fields for r in required):
            fail(f"{f}: not a Zeek TSV {kind} log with {', '.join(required)}")
        for want in ("#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
                     "#unset_field\t-"):
            if want not in head:
                fail(f"{f}: header lacks {want!r}: other separators are not reproduced")
        out.append((f, fields, len(head)))
    if not out:
        fail(f"no {kind}.* files in {logdir}")
    return out


def load_zeek(db, table, files, select):
    """Load files in sorted order into `table` (rowid = file and line order). Every column
    is read as text (one spare for the #fields line) and '#' lines are dropped by their
    first column: comment='#' would cut any line at a '#' inside a field. `select` maps a
    {field: column} dict (NULL for absent fields) to the typed select list. Returns each
    file's first rowid and number of records."""
    spans, before = [], 0
    for i, (path, fields, _) in enumerate(files):
        cols = ", ".join(f"'c{j}': 'VARCHAR'" for j in range(len(fields) + 1))
        col = {n: f"c{j}" for j, n in enumerate(fields)}
        col = {n: col.get(n, "CAST(NULL AS VARCHAR)") for n in CONN + DNS}
        src = (f"read_csv('{path.replace(chr(39), chr(39) * 2)}', delim='\t', header=false, "
               f"quote='', escape='', null_padding=true, auto_detect=false, "
               f"columns={{{cols}}})")
        sql = f"SELECT {select(col)} FROM {src} WHERE NOT starts_with(c0, '#')"
        db.execute(f"CREATE TABLE {table} AS {sql}" if i == 0 else f"INSERT INTO {table} {sql}")
        after = db.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        spans.append((before, after - before))
        before = after
    return spans


TAIL_BYTES = 1 << 16


def scan_file(path):
    """One streaming pass over an input file: its SHA-256 as stored (the compressed bytes
    of a .gz, as xborder hashes it) and the line structure of its text (decompressed):
    number of lines, of lines starting with '#', and of '#' lines after the last record
    (Zeek's #close). Record k of the file (0-based, as loaded) is then physical line
    header + k + 1, provided no '#' line sits between records (checked by the caller)."""
    sha = hashlib.sha256()
    gz = path.endswith(".gz")
    inflate = zlib.decompressobj(31)
    lines = hashes = size = 0
    prev, tail = b"\n", b""  # a '#' first in the file starts a line

    def text(data):
        nonlocal lines, hashes, size, prev, tail
        if not data:
            return
        lines += data.count(b"\n")
        hashes += data.count(b"\n#") + (prev == b"\n" and data[:1] == b"#")
        size += len(data)
        prev = data[-1:]
        tail = data[-TAIL_BYTES:] if len(data) >= TAIL_BYTES else (tail + data)[-TAIL_BYTES:]

    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(1 << 22):
            sha.update(chunk)
            if not gz:
                text(chunk)
                continue
            while chunk:  # gzip members one after another, as a multi-member reader does
                text(inflate.decompress(chunk))
                if not inflate.eof:
                    break
                chunk = inflate.unused_data
                inflate = zlib.decompressobj(31)
    if gz:
        text(inflate.flush())
    if prev not in (b"\n", b""):
        lines += 1  # a last line without its line end
    trailing = 0
    tail_lines = tail.split(b"\n")
    if tail_lines and tail_lines[-1] == b"":
        tail_lines.pop()
    for line in reversed(tail_lines):
        if not line.startswith(b"#"):
            break
        trailing += 1
    if trailing == len(tail_lines) and size > len(tail):
        fail(f"{path}: more than {TAIL_BYTES} bytes of '#' lines at its end: not reproduced")
    return {"sha256": sha.hexdigest(), "lines": lines, "hash_lines": hashes,
            "trailing": trailing}


def scan_files(paths):
    """scan_file of every path on a thread of its own (hashlib and zlib release the GIL,
    DuckDB runs meanwhile); the result is {path: scan} once join() returns."""
    out, errors, took = {}, [], []

    def work():
        t0 = time.time()
        try:
            for p in paths:
                out[p] = scan_file(p)
        except BaseException as e:  # reported by join()
            errors.append(e)
        took.append(time.time() - t0)

    t = threading.Thread(target=work, name="sha256", daemon=True)
    t.start()

    def join():
        t.join()
        if errors:
            if isinstance(errors[0], SystemExit):
                sys.exit(errors[0].code)
            fail(f"hashing the inputs: {errors[0]}")
        return out, took[0]
    return join


def unset(col, empty=False):
    """Zeek's '-' (unset), and '(empty)' where the field is a set, as NULL."""
    extra = f" OR {col} = '(empty)'" if empty else ""
    return f"(CASE WHEN {col} = '-'{extra} THEN NULL ELSE {col} END)"


def micros(col):
    """Epoch seconds to µs, the fraction truncated after six digits (parse_epoch_decimal)."""
    return (f"(CAST(split_part({col}, '.', 1) AS BIGINT) * 1000000 + "
            f"CAST(rpad(left(split_part({col}, '.', 2), 6), 6, '0') AS BIGINT))")


# --------------------------------------------------------------------------- main ------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--logs", required=True)
    ap.add_argument("--sites", required=True)
    ap.add_argument("--vendors", required=True)
    ap.add_argument("--geoip", required=True)
    ap.add_argument("--period", required=True)
    ap.add_argument("--xborder-out", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dns-max-age", type=int, default=6 * 3600)
    ap.add_argument("--dns-ttl-grace", type=int, default=900)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--storage", default="auto", choices=["auto", "memory", "file"],
                    help="where DuckDB keeps its tables: in memory, in a database file in "
                         "--out, or (auto) in memory unless the logs are too large for it")
    ap.add_argument("--evidence", default="csv,parquet",
                    choices=["csv,parquet", "parquet,csv", "csv", "parquet"],
                    help="which evidence files to write and compare, as xborder's own "
                         "--evidence (xborder must have been run with the same)")
    ap.add_argument("--regimes", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "..", "..", "data", "regimes.toml"),
                    help="the regime catalog xborder was built with (only the order of its "
                         "regime ids is used: evidence.csv lists a flow's regimes in it)")
    a = ap.parse_args()
    phase("start")
    start, end = period_bounds(a.period)
    sites, cat = Sites(a.sites), Catalog(a.vendors)
    geo = maxminddb.open_database(a.geoip)
    # Every input file is hashed (SHA-256) and its lines counted on a thread of its own
    # while DuckDB loads them.
    conn_files = zeek_files(a.logs, "conn", ["ts", "id.orig_h", "id.resp_h"])
    dns_files = zeek_files(a.logs, "dns", ["ts", "id.orig_h"])
    scanned = scan_files([f[0] for f in conn_files + dns_files])
    db = connect(a.out, a.storage, [f[0] for f in conn_files + dns_files])
    db.execute(f"PRAGMA threads={a.threads}")
    db.execute("SET preserve_insertion_order=true")

    # Conn records, every parsed field type-checked; pos = sorted file and line order.
    conn_spans = load_zeek(db, "conn", conn_files, lambda c: f"""
        {micros(c['ts'])} AS ts, {unset(c['uid'])} AS uid,
        {c['id.orig_h']} AS src, CAST({unset(c['id.orig_p'])} AS USMALLINT) AS sport,
        {c['id.resp_h']} AS dst, CAST({unset(c['id.resp_p'])} AS USMALLINT) AS dport,
        coalesce({unset(c['proto'])}, '') AS proto,
        CAST({unset(c['duration'])} AS DOUBLE) AS duration,
        CAST({unset(c['orig_bytes'])} AS UBIGINT) AS bytes_out,
        CAST({unset(c['resp_bytes'])} AS UBIGINT) AS bytes_in,
        CASE WHEN {c['local_orig']} IS NULL OR {c['local_orig']} = '-' THEN NULL
             WHEN {c['local_orig']} = 'T' THEN true WHEN {c['local_orig']} = 'F' THEN false
             ELSE error('local_orig `' || {c['local_orig']} || '` is not T, F or -') END
          AS local_orig""")
    n_conn, bad_dur, huge = db.execute(
        "SELECT count(*), count(*) FILTER (duration < 0 OR isinf(duration) OR isnan(duration)), "
        "count(*) FILTER (bytes_out > 9007199254740992 OR bytes_in > 9007199254740992) "
        "FROM conn").fetchall()[0]
    if bad_dur or huge:
        fail(f"{bad_dur} negative durations, {huge} byte counts above 2^53: rejects not reproduced")
    phase(f"conn: {n_conn} records loaded")

    dns_spans = load_zeek(db, "dnsraw", dns_files, lambda d: f"""
        {micros(d['ts'])} AS ts, {unset(d['uid'])} AS uid, {d['id.orig_h']} AS client,
        CAST({unset(d['trans_id'])} AS UINTEGER) AS trans_id,
        CAST({unset(d['rtt'])} AS DOUBLE) AS rtt,
        coalesce(translate(rtrim(trim({unset(d['query'])}), '.'), '{UPPER}', '{LOWER}'), '')
          AS query,
        {unset(d['qtype_name'])} AS qtype, {unset(d['rcode_name'])} AS rcode,
        {unset(d['answers'], True)} AS answers, {unset(d['TTLs'], True)} AS ttls""")
    n_dns = db.execute("SELECT count(*) FROM dnsraw").fetchall()[0][0]
    for (client,) in db.execute("SELECT DISTINCT client FROM dnsraw").fetchall():
        parse_ip(client)
    if db.execute("SELECT count(*) FROM dnsraw WHERE rtt < 0 OR isinf(rtt) OR isnan(rtt)"
                  ).fetchall()[0][0]:
        fail("negative or infinite rtt: rejects not reproduced")
    # Response time = ts + rtt (capped at a day, rounded to µs as xborder does); DNS
    # duplicates dropped (the first in input order stays); period with the look-back.
    db.execute(f"""CREATE TABLE dns AS SELECT min(pos) AS pos, * EXCLUDE (pos) FROM (
        SELECT rowid AS pos, ts, ts + CASE WHEN rtt IS NULL THEN 0
                 ELSE CAST(round(CASE WHEN rtt > 86400 THEN 86400 ELSE rtt END * 1e6) AS BIGINT)
               END AS response, uid, trans_id, query, qtype, rcode, client, answers, ttls
        FROM dnsraw WHERE ts >= {start - a.dns_max_age * 1_000_000} AND ts < {end})
      GROUP BY ALL""")
    drop(db, "dnsraw")
    phase(f"dns: {n_dns} records loaded")

    # Every address answer with its TTL (answers and TTLs zip by position).
    db.execute("""CREATE TABLE answers AS SELECT pos, client, response, query,
        unnest(range(1, len(string_split(answers, ',')) + 1)) AS idx,
        trim(unnest(string_split(answers, ','))) AS address,
        CAST(floor(CAST(unnest(string_split(ttls, ',')) AS DOUBLE)) AS UBIGINT) AS ttl
      FROM dns WHERE answers IS NOT NULL AND query <> ''""")
    queries = [q for (q,) in db.execute("SELECT DISTINCT query FROM dns WHERE query <> ''").fetchall()]
    if any("\\x" in q for q in queries):
        fail("a query holds a \\xNN escape: xborder unescapes it, this baseline does not")
    drop(db, "dns")
    vq = [(q, p) for q in queries if (p := cat.match_host(q)) is not None]
    db.register("vq_df", pd.DataFrame(vq, columns=["query", "pid"]).astype({"pid": "int32"}))
    db.execute("CREATE TABLE vq AS SELECT * FROM vq_df")
    # Answers for addresses some vendor name resolved to; one per (client, address, time):
    # the later record in input order (then the later answer in it) wins a tie, as in
    # xborder. arg_max skips NULL values, so the missing TTL is a sentinel first. dpos, the
    # record's position, gives the evidence its attribution file and line.
    db.execute("""CREATE TABLE obs AS SELECT client, address, response,
        arg_max(query, pos * 65536 + idx) AS query, max(pos) AS dpos,
        arg_max(coalesce(ttl, 4294967295), pos * 65536 + idx) AS ttl
      FROM answers WHERE address IN (SELECT DISTINCT address FROM answers JOIN vq USING (query))
      GROUP BY client, address, response""")
    for (x,) in db.execute("SELECT DISTINCT address FROM obs").fetchall():
        try:
            ip = ipaddress.ip_address(x)  # CNAME targets are kept too: they match no flow
        except ValueError:
            continue
        if str(ip) != x:
            fail(f"answer `{x}` is not written in canonical form ({ip}): addresses are "
                 "compared as text")
    drop(db, "answers")
    phase(f"dns index: {db.execute('SELECT count(*) FROM obs').fetchall()[0][0]} answers kept")

    # Flow de-duplication. Only records whose uid occurs more than once can be duplicates.
    db.execute("""CREATE TABLE dup AS
      WITH k AS (
        SELECT rowid AS pos, uid, proto,
               least(src || '|' || coalesce(CAST(sport AS VARCHAR), '-'),
                     dst || '|' || coalesce(CAST(dport AS VARCHAR), '-')) AS lo,
               greatest(src || '|' || coalesce(CAST(sport AS VARCHAR), '-'),
                        dst || '|' || coalesce(CAST(dport AS VARCHAR), '-')) AS hi,
               ts // 1000000 AS sec, ts % 1000000 AS frac
        FROM conn WHERE uid IN (SELECT uid FROM conn WHERE uid IS NOT NULL
                                GROUP BY uid HAVING count(*) > 1)),
      f AS (SELECT uid, proto, lo, hi, sec, min(pos) AS first FROM k GROUP BY ALL)
      SELECT k.pos FROM k
        JOIN f s ON s.uid = k.uid AND s.proto = k.proto AND s.lo = k.lo AND s.hi = k.hi
                AND s.sec = k.sec
        LEFT JOIN f p ON p.uid = k.uid AND p.proto = k.proto AND p.lo = k.lo AND p.hi = k.hi
                AND p.sec = k.sec - 1
        LEFT JOIN f n ON n.uid = k.uid AND n.proto = k.proto AND n.lo = k.lo AND n.hi = k.hi
                AND n.sec = k.sec + 1
      WHERE s.first < k.pos OR (k.frac < 1000 AND p.first < k.pos)
         OR (k.frac >= 999000 AND n.first < k.pos)""")
    phase(f"dedup: {db.execute('SELECT count(*) FROM dup').fetchall()[0][0]} duplicates")

    # Per distinct source and destination: site, special-purpose, country, vendor range.
    srcs = [s for (s,) in db.execute("SELECT DISTINCT src FROM conn").fetchall()]
    rows = []
    for s in srcs:
        ip = parse_ip(s)
        site = sites.lookup(ip)
        rows.append((s, site[0] if site else None, site[1] if site else None,
                     site is not None or special(ip)))
    db.register("src_df", pd.DataFrame(rows, columns=["src", "site", "site_country", "local"]))
    db.execute("CREATE TABLE srcinfo AS SELECT * FROM src_df")
    dsts = [x for (x,) in db.execute("SELECT DISTINCT dst FROM conn").fetchall()]
    rows = []
    for x in dsts:
        ip = parse_ip(x)
        sp = special(ip)
        rows.append((x, sp, None if sp else country_of(geo, ip), None if sp else cat.match_ip(ip)))
    db.register("dst_df", pd.DataFrame(rows, columns=["dst", "special", "country", "range_pid"])
                .astype({"range_pid": "Int32"}))
    db.execute("CREATE TABLE dstinfo AS SELECT * FROM dst_df")
    phase(f"lookups: {len(srcs)} sources, {len(dsts)} destinations")

    # Egress flows of the period, attributed: ASOF join on (client, address) with the
    # window check; a vendor name gives dns, otherwise the vendor range gives ip_range.
    # What evidence.csv needs rides along: the record's position, ports, proto, and the
    # position and time of the DNS answer (xborder prints addresses canonically, as read).
    limit = (f"CASE WHEN o.ttl = 4294967295 THEN {a.dns_max_age} "
             f"ELSE least(o.ttl + {a.dns_ttl_grace}, {a.dns_max_age}) END * 1000000")
    db.execute(f"""CREATE TABLE egress AS
      WITH e AS (
        SELECT c.rowid AS pos, c.ts, c.src, c.dst, c.bytes_out, c.bytes_in,
               coalesce(s.site, 'unknown_site') AS site, coalesce(s.site_country, '') AS sc,
               t.country AS dc, t.range_pid, s.site IS NOT NULL AS known, c.sport, c.dport,
               c.proto
        FROM conn c JOIN srcinfo s USING (src) JOIN dstinfo t USING (dst)
        WHERE c.rowid NOT IN (SELECT pos FROM dup) AND c.ts >= {start} AND c.ts < {end}
          AND (s.local OR c.local_orig IS TRUE) AND NOT t.special),
      m AS (
        SELECT e.*, o.response IS NOT NULL AND e.ts - o.response <= {limit} AS fresh,
               CASE WHEN fresh THEN o.query END AS name,
               CASE WHEN fresh THEN o.dpos END AS dpos,
               CASE WHEN fresh THEN o.response END AS dts
        FROM e ASOF LEFT JOIN obs o
          ON e.src = o.client AND e.dst = o.address AND e.ts >= o.response)
      SELECT m.* EXCLUDE (name, range_pid, fresh, dpos, dts),
             coalesce(vq.pid, m.range_pid) AS pid,
             CASE WHEN vq.pid IS NOT NULL THEN m.name END AS hostname,
             CASE WHEN vq.pid IS NOT NULL THEN m.dpos END AS dpos,
             CASE WHEN vq.pid IS NOT NULL THEN m.dts END AS dts,
             CASE WHEN vq.pid IS NOT NULL THEN 'dns'
                  WHEN m.range_pid IS NOT NULL THEN 'ip_range' END AS attribution,
             CAST(to_timestamp(m.ts // 1000000) AS DATE)::VARCHAR AS day
      FROM m LEFT JOIN vq ON vq.query = m.name""")
    n_eg, n_ai = db.execute("SELECT count(*), count(pid) FROM egress").fetchall()[0]
    drop(db, "conn", "dup", "obs")
    phase(f"egress: {n_eg} flows, {n_ai} to AI vendors")

    prods = pd.DataFrame([(i, *p) for i, p in enumerate(cat.products)],
                         columns=["pid", "vendor", "hq", "product", "category"]).astype({"pid": "int32"})
    db.register("products", prods)
    verdicts(db, a.xborder_out, a.regimes)
    write_tables(db, a.out)
    phase("tables written")
    scans, took = scanned()
    size = sum(os.path.getsize(p) for p in scans) / 1e6
    phase(f"inputs hashed: {len(scans)} files, {size:.0f} MB (SHA-256 and lines, {took:.2f} s "
          "on a thread during the load)")
    files = input_files(conn_files, conn_spans, "conn", scans) + \
        input_files(dns_files, dns_spans, "dns", scans)
    formats = a.evidence.split(",")
    write_evidence(db, a.out, files, formats)
    names = ", ".join(f"evidence.{f}" for f in formats)
    phase(f"evidence written: {n_ai} rows ({names})")
    compare(a.out, a.xborder_out, OUTPUTS + (["evidence.csv"] if "csv" in formats else []))
    if "parquet" in formats:
        compare_parquet(db, a.out, a.xborder_out)
    phase("identical to xborder's")


def verdicts(db, xout, regimes_toml):
    """The legal decisions of the run, read from xborder's outputs (see the header). For
    evidence.csv, each key's regimes joined by ';' in the catalog's order (vreg)."""
    ai, other = {}, {}
    with open(os.path.join(xout, "findings.csv"), newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            key = (r["source_country"], r["destination_country"], r["vendor"], r["product"],
                   r["category"])
            v = (r["regime"], r["rule_id"], r["citation"], r["transfer_basis"])
            bases = ai.setdefault(key, {})
            if bases.get(r["regime"], v) != v:
                fail(f"{key}: two transfer bases under {r['regime']} (per-host scopes): "
                     "per-host legal decisions are not reproduced")
            bases[r["regime"]] = v
    with open(os.path.join(xout, "cross_border_other.csv"), newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            key = (r["source_country"], r["destination_country"])
            other.setdefault(key, {})[r["regime"]] = (r["regime"], r["rule_id"], r["transfer_basis"])
    db.register("vai_df", pd.DataFrame(
        [(*k, *v) for k, m in ai.items() for v in m.values()],
        columns=["sc", "dc", "vendor", "product", "category", "regime", "rule_id", "citation",
                 "basis"]))
    db.register("vother_df", pd.DataFrame(
        [(*k, *v) for k, m in other.items() for v in m.values()],
        columns=["sc", "dc", "regime", "rule_id", "basis"]))
    db.execute("CREATE TABLE vai AS SELECT * FROM vai_df")
    db.execute("CREATE TABLE vother AS SELECT * FROM vother_df")
    with open(regimes_toml, "rb") as f:
        order = [r["id"] for r in tomllib.load(f).get("regime", [])]
    rows = []
    for key, m in ai.items():
        if any(r not in order for r in m):
            fail(f"{key}: a regime of findings.csv is not in {regimes_toml}: its order in "
                 "evidence.csv would be a guess")
        rows.append((*key, ";".join(sorted(m, key=order.index))))
    db.register("vreg_df", pd.DataFrame(rows, columns=["sc", "dc", "vendor", "product",
                                                       "category", "regimes"]))
    db.execute("CREATE TABLE vreg AS SELECT * FROM vreg_df")


def rfc3339(col):
    """chrono's AutoSi of µs since the epoch: no fraction when whole, else 3 or 6 digits
    (make_timestamp: a plain TIMESTAMP, so no time zone setting applies)."""
    t = f"make_timestamp({col})"
    return (f"(CASE WHEN {col} % 1000000 = 0 THEN strftime({t}, '%Y-%m-%dT%H:%M:%SZ') "
            f"WHEN {col} % 1000 = 0 THEN strftime({t}, '%Y-%m-%dT%H:%M:%S.%gZ') "
            f"ELSE strftime({t}, '%Y-%m-%dT%H:%M:%S.%fZ') END)")


def write_tables(db, out):
    sums = f"""count(*) AS flows, sum(coalesce(bytes_out, 0)) AS bytes_out,
      sum(coalesce(bytes_in, 0)) AS bytes_in, count(DISTINCT src) AS distinct_sources,
      {rfc3339('min(ts)')} AS first_seen, {rfc3339('max(ts)')} AS last_seen"""
    # A view: each of the three queries joins egress to the few products again, which costs
    # less than writing the AI flows with their vendor names out as a table (80 M rows at
    # 10^8 AI-heavy flows).
    db.execute("""CREATE VIEW ai AS SELECT e.*, p.vendor, p.hq, p.product, p.category
      FROM egress e JOIN products p USING (pid)""")
    findings = f"""SELECT regime, rule_id, citation, site AS source_site, sc AS source_country,
        dc AS destination_country, vendor, hq AS vendor_hq_country, product, category,
        attribution, basis AS transfer_basis, {sums},
        'F-' || sha256(concat_ws(chr(31), site, sc, dc, vendor, product, category,
                                 attribution))[1:12] AS finding_id
      FROM ai JOIN vai USING (sc, dc, vendor, product, category)
      GROUP BY regime, rule_id, citation, site, sc, dc, vendor, hq, product, category,
               attribution, basis
      ORDER BY regime, rule_id, citation, source_site, source_country, destination_country,
               vendor, vendor_hq_country, product, category, attribution, transfer_basis,
               finding_id"""
    other = f"""SELECT regime, rule_id, site AS source_site, sc AS source_country,
        dc AS destination_country, basis AS transfer_basis, {sums}
      FROM egress JOIN vother USING (sc, dc) WHERE pid IS NULL
      GROUP BY ALL ORDER BY regime, rule_id, source_site, source_country,
               destination_country, transfer_basis"""
    summary = f"""WITH x AS (SELECT ai.*, EXISTS (SELECT 1 FROM vai v WHERE v.sc = ai.sc
          AND v.dc = ai.dc AND v.vendor = ai.vendor AND v.product = ai.product
          AND v.category = ai.category) AS is_cross FROM ai)
      SELECT vendor, hq AS vendor_hq_country, product, category,
        count(*) AS flows, sum(coalesce(bytes_out, 0)) AS bytes_out,
        sum(coalesce(bytes_in, 0)) AS bytes_in,
        count(*) FILTER (is_cross) AS cross_border_flows,
        coalesce(sum(coalesce(bytes_out, 0)) FILTER (is_cross), 0) AS cross_border_bytes_out,
        count(DISTINCT src) AS distinct_sources,
        string_agg(DISTINCT site, ';' ORDER BY site) AS sites,
        string_agg(DISTINCT dc, ';' ORDER BY dc) AS destination_countries,
        {rfc3339('min(ts)')} AS first_seen, {rfc3339('max(ts)')} AS last_seen
      FROM x GROUP BY vendor, hq, product, category
      ORDER BY vendor, vendor_hq_country, product, category"""
    daily = """SELECT day, coalesce(v.regime, 'none') AS regime, ai.vendor, count(*) AS flows,
        sum(coalesce(bytes_out, 0)) AS bytes_out
      FROM ai LEFT JOIN vai v USING (sc, dc, vendor, product, category)
      GROUP BY ALL ORDER BY day, regime, vendor"""
    for name, sql in zip(OUTPUTS, [findings, summary, daily, other]):
        cur = db.execute(sql)
        header = [d[0] for d in cur.description]
        with open(os.path.join(out, name), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            for row in cur.fetchall():
                w.writerow([cell(v) for v in row])


def cell(v):
    """A CSV cell as xborder writes it (docs/output-schema.md, Safe to open)."""
    if v is None:
        return ""
    s = str(v)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in s):
        fail(f"control character in {s!r}: escaping not reproduced")
    if isinstance(v, str) and s[:1] in "=+-@" and not re.fullmatch(r"-?\d+(\.\d+)?", s):
        s = "'" + s
    return s


def input_files(files, spans, kind, scans):
    """(kind, first rowid, header lines, path, sha256) per input file of the kind, after
    checking that record k of the file is physical line header + k + 1: every '#' line is
    in the header or after the last record, and the file has as many other lines as DuckDB
    loaded records (a blank line, which DuckDB skips, or a header between records, as in
    concatenated logs, stops the run: line numbers are not reproduced for them)."""
    out = []
    for (path, _, head), (first, n) in zip(files, spans):
        s = scans[path]
        trailing = 0 if s["lines"] == head else s["trailing"]
        if s["hash_lines"] != head + trailing:
            fail(f"{path}: '#' lines between records: input_line is not reproduced")
        if s["lines"] - head - trailing != n:
            fail(f"{path}: {s['lines'] - head - trailing} record lines but {n} records loaded "
                 "(blank lines?): input_line is not reproduced")
        out.append((kind, first, head, path, s["sha256"]))
    return out


# escape_control, then the formula prefix (`neutralise`, crates/report/src/csv_tables.rs and
# crates/model/src/text.rs): control characters (Unicode Cc) as \n \r \t, \xNN below 0x80,
# \u{NN} above; a leading = + - @ gets a single quote; empty is NULL. csvq: quoted where
# the csv crate quotes (a comma, double quote or line end), quotes doubled; NULL is empty.
MACROS = [r"""CREATE MACRO esc(s) AS CASE WHEN NOT regexp_matches(s, '[\x00-\x1f\x7f-\x9f]')
      THEN s ELSE list_aggr(list_transform(string_split(s, ''), lambda c: CASE
          WHEN c = chr(10) THEN '\n' WHEN c = chr(13) THEN '\r' WHEN c = chr(9) THEN '\t'
          WHEN ord(c) < 32 OR ord(c) = 127 THEN format('\x{:02x}', ord(c))
          WHEN ord(c) BETWEEN 128 AND 159 THEN format('\u{{{:x}}}', ord(c))
          ELSE c END), 'string_agg', '') END""",
          r"""CREATE MACRO neutral(s) AS nullif(CASE WHEN regexp_matches(esc(s), '^[=+\-@]')
          THEN '''' || esc(s) ELSE esc(s) END, '')""",
          r"""CREATE MACRO csvq(s) AS CASE WHEN regexp_matches(s, '[,"\r\n]')
          THEN '"' || replace(s, '"', '""') || '"' ELSE coalesce(s, '') END"""]


def write_evidence(db, out, files, formats):
    """evidence.csv and/or evidence.parquet (crates/report/src/evidence.rs): one row per
    AI-vendor egress flow in reading order (conn files in sorted order, then line order).
    As xborder does, every text value is neutralised and CSV-quoted once per distinct
    value (groups, protocols, host names, files): small tables, in SQL. The rows, sorted
    by position once, keep only ids into them; each output is then one projection over the
    sorted rows (the distinct values as constant lists indexed by id, so no join can
    reorder them): the Parquet columns, and each CSV line assembled from the quoted cells
    and written by COPY without further quoting."""
    for m in MACROS:
        db.execute(m)
    db.register("files_df", pd.DataFrame(files, columns=["kind", "first", "head", "path",
                                                         "sha"]))
    db.execute("""CREATE TABLE evfiles AS SELECT kind, first, head + 1 - first AS shift,
        neutral(path) AS path_t, neutral(sha) AS sha_t,
        csvq(neutral(path)) || ',' || csvq(neutral(sha)) AS file_q
      FROM files_df""")
    db.execute("""CREATE TABLE evgroups AS SELECT row_number() OVER () AS gid, *,
        csvq(fid) || ',' || csvq(regimes_t) AS head_q,
        csvq(attribution_t) || ',' || csvq(vendor_t) || ',' || csvq(product_t) || ',' ||
          csvq(category_t) || ',' || csvq(site_t) || ',' || csvq(dc_t) AS mid_q
      FROM (SELECT g.*, 'F-' || sha256(concat_ws(chr(31), g.site, g.sc, g.dc, p.vendor,
              p.product, p.category, g.attribution))[1:12] AS fid,
            neutral(CASE WHEN g.known THEN r.regimes END) AS regimes_t,
            neutral(g.site) AS site_t, neutral(g.dc) AS dc_t, neutral(p.vendor) AS vendor_t,
            neutral(p.product) AS product_t, neutral(p.category) AS category_t,
            neutral(g.attribution) AS attribution_t
        FROM (SELECT DISTINCT site, known, sc, dc, pid, attribution FROM egress
              WHERE pid IS NOT NULL) g
        JOIN products p USING (pid)
        LEFT JOIN vreg r ON r.sc = g.sc AND r.dc = g.dc AND r.vendor = p.vendor
                        AND r.product = p.product AND r.category = p.category)""")
    lower = f"translate(proto, '{UPPER}', '{LOWER}')"
    db.execute(f"""CREATE TABLE evprotos AS SELECT row_number() OVER () AS id, *,
        csvq(proto_t) AS proto_q
      FROM (SELECT proto, neutral(CASE WHEN proto IN ('tcp', 'udp') THEN proto
              WHEN {lower} IN ('tcp', '6') THEN 'tcp' WHEN {lower} IN ('udp', '17') THEN 'udp'
              WHEN {lower} IN ('icmp', '1', 'icmp6', 'ipv6-icmp', '58') THEN 'icmp'
              ELSE {lower} END) AS proto_t
            FROM (SELECT DISTINCT proto FROM egress WHERE pid IS NOT NULL))""")
    db.execute("""CREATE TABLE evhosts AS SELECT row_number() OVER () AS id, hostname,
        neutral(hostname) AS host_t, csvq(neutral(hostname)) AS host_q
      FROM (SELECT DISTINCT hostname FROM egress WHERE pid IS NOT NULL
            AND hostname IS NOT NULL)""")

    def which(col, kind):
        """The number (1-based, in sorted order) of the file of the kind that holds the
        record at position col (positions are consecutive per file)."""
        firsts = [r[0] for r in db.execute(
            f"SELECT first FROM evfiles WHERE kind = '{kind}' ORDER BY first").fetchall()]
        number = " ".join(f"WHEN {col} < {f} THEN {i}" for i, f in enumerate(firsts[1:], 1))
        return f"CASE WHEN {col} IS NULL THEN NULL {number} ELSE {len(firsts)} END"

    db.execute(f"""CREATE TABLE evidence AS
      SELECT a.pos, a.ts, a.dts, a.src, a.dst, a.sport, a.dport, a.bytes_out,
             a.bytes_in, g.gid, p.id AS proto_id, h.id AS host_id,
             {which('a.pos', 'conn')} AS cfile, {which('a.dpos', 'dns')} AS dfile, a.dpos
      FROM egress a JOIN evgroups g USING (site, known, sc, dc, pid, attribution)
        JOIN evprotos p USING (proto) LEFT JOIN evhosts h USING (hostname)
      ORDER BY a.pos""")
    db.execute("DROP VIEW ai")
    drop(db, "egress")
    phase("evidence rows sorted")

    def lookup(table, col, order="id", where=""):
        """A column of a small table as a constant SQL list, indexed by its 1-based id."""
        values = [r[0] for r in db.execute(f"SELECT {col} FROM {table} {where} ORDER BY {order}")
                  .fetchall()]
        kind = "BIGINT" if col == "shift" else "VARCHAR"
        return "CAST([" + ", ".join("NULL" if v is None else
                                    ("'" + v.replace("'", "''") + "'" if isinstance(v, str)
                                     else str(v)) for v in values) + f"] AS {kind}[])"

    L = {c: lookup("evgroups", c, "gid") for c in
         ("fid", "regimes_t", "attribution_t", "vendor_t", "product_t", "category_t", "site_t",
          "dc_t", "head_q", "mid_q")}
    L.update({c: lookup("evprotos", c) for c in ("proto_t", "proto_q")})
    L.update({c: lookup("evhosts", c) for c in ("host_t", "host_q")})
    for kind in ("conn", "dns"):
        for c in ("shift", "path_t", "sha_t", "file_q"):
            L[kind[0] + c] = lookup("evfiles", c, "first", f"WHERE kind = '{kind}'")
    in_line = "CAST(pos + {cshift}[cfile] AS UBIGINT)".format(**L)
    dns_line = "CAST(dpos + {dshift}[dfile] AS UBIGINT)".format(**L)
    when = f"CASE WHEN dts IS NOT NULL THEN {rfc3339('dts')} END"
    typed = f"""{L['fid']}[gid] AS finding_id, {L['regimes_t']}[gid] AS regimes,
        {L['cpath_t']}[cfile] AS input_file, {L['csha_t']}[cfile] AS input_sha256,
        {in_line} AS input_line, {rfc3339('ts')} AS ts, src AS src_ip,
        CAST(sport AS UBIGINT) AS src_port, dst AS dst_ip, CAST(dport AS UBIGINT) AS dst_port,
        {L['proto_t']}[proto_id] AS proto, bytes_out, bytes_in, {L['host_t']}[host_id] AS hostname,
        {L['attribution_t']}[gid] AS attribution, {L['vendor_t']}[gid] AS vendor,
        {L['product_t']}[gid] AS product, {L['category_t']}[gid] AS category,
        {L['site_t']}[gid] AS source_site, {L['dc_t']}[gid] AS destination_country,
        {L['dpath_t']}[dfile] AS attribution_file, {L['dsha_t']}[dfile] AS attribution_sha256,
        {dns_line} AS attribution_line, {when} AS attribution_ts"""
    # One concat (NULL is empty), not a chain of || that copies the growing line each time.
    line = f"""concat({L['head_q']}[gid], ',', {L['cfile_q']}[cfile], ',', {in_line}, ',',
        {rfc3339('ts')}, ',', src, ',', sport, ',', dst, ',', dport, ',',
        {L['proto_q']}[proto_id], ',', bytes_out, ',', bytes_in, ',', {L['host_q']}[host_id],
        ',', {L['mid_q']}[gid], ',', coalesce({L['dfile_q']}[dfile], ','), ',', {dns_line},
        ',', {when})"""
    header = ",".join(EVIDENCE)
    if "csv" in formats:
        db.execute(f"""COPY (SELECT {line} AS "{header}" FROM evidence)
          TO '{sql_path(os.path.join(out, "evidence.csv"))}' (FORMAT csv, HEADER, QUOTE '',
          ESCAPE '')""")
        phase("evidence.csv written")
    if "parquet" in formats:
        db.execute(f"""COPY (SELECT {typed} FROM evidence)
          TO '{sql_path(os.path.join(out, "evidence.parquet"))}' (FORMAT parquet,
          COMPRESSION zstd, ROW_GROUP_SIZE 65536)""")


def sql_path(path):
    return path.replace("'", "''")


def compare(mine, theirs, names):
    """Each file byte for byte (in chunks); where two differ, the first differing line."""
    bad = False
    for name in names:
        pa, pb = os.path.join(mine, name), os.path.join(theirs, name)
        lines = same_bytes(pa, pb)
        if lines is not None:
            print(f"  {name}: identical ({lines - 1} rows)", file=sys.stderr)
            continue
        bad = True
        with open(pa, "rb") as fa, open(pb, "rb") as fb:
            i = 0
            while True:
                x, y = fa.readline(), fb.readline()
                if x != y or not x:
                    break
                i += 1
            na = i + (x != b"") + sum(1 for _ in fa)
            nb = i + (y != b"") + sum(1 for _ in fb)
        show = lambda line: line.rstrip(b"\n")[:400] if line else b"<end>"
        print(f"DIFFERS {name} at line {i + 1} (baseline {na} lines, xborder {nb}):\n"
              f"  baseline: {show(x)}\n  xborder:  {show(y)}", file=sys.stderr)
    if bad:
        sys.exit(1)


def same_bytes(pa, pb):
    """The number of line ends if the two files are byte-identical, else None."""
    n = 0
    with open(pa, "rb") as fa, open(pb, "rb") as fb:
        while True:
            x, y = fa.read(1 << 22), fb.read(1 << 22)
            if x != y:
                return None
            if not x:
                return n
            n += x.count(b"\n")


def compare_parquet(db, mine, theirs):
    """evidence.parquet: the same schema (names and types) as xborder's and the same rows
    in the same order (a fingerprint of every row with its row number; on a difference,
    the first differing rows). Byte identity is not expected (another writer)."""
    pa, pb = (sql_path(os.path.join(d, "evidence.parquet")) for d in (mine, theirs))
    sa = [r[:2] for r in db.execute(f"DESCRIBE SELECT * FROM '{pa}'").fetchall()]
    sb = [r[:2] for r in db.execute(f"DESCRIBE SELECT * FROM '{pb}'").fetchall()]
    if sa != sb:
        print(f"DIFFERS evidence.parquet schema:\n  baseline: {sa}\n  xborder:  {sb}",
              file=sys.stderr)
        sys.exit(1)
    fp = ("SELECT count(*), bit_xor(hash(t)), sum(hash(t)::HUGEINT) "
          "FROM read_parquet('{}', file_row_number = true) t")
    a, b = db.execute(fp.format(pa)).fetchall()[0], db.execute(fp.format(pb)).fetchall()[0]
    if a == b:
        print(f"  evidence.parquet: identical content: same schema, same rows in the same "
              f"order ({a[0]} rows)", file=sys.stderr)
        return
    rows = db.execute(f"""SELECT * FROM (
        SELECT 'baseline' AS side, * FROM (
          SELECT * FROM read_parquet('{pa}', file_row_number = true)
          EXCEPT ALL SELECT * FROM read_parquet('{pb}', file_row_number = true))
        UNION ALL
        SELECT 'xborder', * FROM (
          SELECT * FROM read_parquet('{pb}', file_row_number = true)
          EXCEPT ALL SELECT * FROM read_parquet('{pa}', file_row_number = true)))
      ORDER BY file_row_number, side LIMIT 2""").fetchall()
    print(f"DIFFERS evidence.parquet ({a[0]} rows in the baseline's, {b[0]} in xborder's); "
          "first differing rows:", file=sys.stderr)
    for r in rows:
        print(f"  {r[0]}: {r[1:]}"[:600], file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
