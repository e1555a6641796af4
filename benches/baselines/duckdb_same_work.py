"""Same-work DuckDB baseline: what `xborder analyze LOGDIR --sites SITES --period P` does to
Zeek TSV conn and dns logs, in DuckDB SQL (2 threads), writing findings.csv,
summary_by_vendor.csv, daily_egress.csv and cross_border_other.csv and checking in the same
run that each is byte-identical to xborder's (exit 1 and the first differing line if not).

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
    cross-border flags, per-day rows, sorting on all key columns, finding ids (SHA-256).
Done in Python once per distinct value, as xborder does (compute on the few): the site of
each distinct source (most specific CIDR of sites.toml), the special-purpose test, the
GeoIP country of each distinct destination (maxminddb on data/geoip, country.iso_code,
registered_country.iso_code, country_code, else ZZ), the vendor match of each distinct
query name (exact hosts, hosts generated from templates, one-label patterns in catalog
order, longest suffix; data/vendors.toml) and of each distinct destination (most specific
published range).

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
  * Rejects and accounting (run.json), evidence.csv/.parquet, coverage.csv,
    candidates.csv, conflicts.csv, the PDF and HTML reports, SHA-256 of the inputs: not
    produced. Byte counts above 2^53 and control characters in cells stop the script.
  * Inputs other than Zeek TSV conn.*/dns.* logs (plain or .gz) in Zeek's default column
    order (checked on every file's #fields line); ssl.log/http.log (SNI and HTTP Host
    precedence), proxies in sites.toml, --ip-snapshot and --reverse-dns are refused.
  * Addresses are compared as text (Zeek writes canonical forms); IPv4-mapped IPv6
    flow addresses are refused.

usage: duckdb_same_work.py --logs DIR --sites SITES.toml --vendors VENDORS.toml
         --geoip DB.mmdb --period 2026-Q3 --xborder-out DIR --out DIR
         [--dns-max-age SECONDS] [--dns-ttl-grace SECONDS] [--threads N]
"""
import argparse
import csv
import datetime as dt
import glob
import gzip
import hashlib
import io
import ipaddress
import os
import re
import sys
import time
import tomllib

import duckdb
import maxminddb
import pandas as pd

CONN = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes "
        "resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts "
        "orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents").split()
DNS = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto trans_id rtt query qclass "
       "qclass_name qtype qtype_name rcode rcode_name AA TC RD RA Z answers TTLs rejected").split()
OUTPUTS = ["findings.csv", "summary_by_vendor.csv", "daily_egress.csv", "cross_border_other.csv"]


def fail(msg):
    print(f"duckdb_same_work: {msg}", file=sys.stderr)
    sys.exit(1)


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
    """[(path, fields)] of the kind's files in sorted order, fields from each #fields line
    (columns are mapped by name, as xborder does)."""
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
        out.append((f, fields))
    if not out:
        fail(f"no {kind}.* files in {logdir}")
    return out


def load_zeek(db, table, files, select):
    """Load files in sorted order into `table` (rowid = file and line order). Every column
    is read as text (one spare for the #fields line) and '#' lines are dropped by their
    first column: comment='#' would cut any line at a '#' inside a field. `select` maps a
    {field: column} dict (NULL for absent fields) to the typed select list."""
    for i, (path, fields) in enumerate(files):
        cols = ", ".join(f"'c{j}': 'VARCHAR'" for j in range(len(fields) + 1))
        col = {n: f"c{j}" for j, n in enumerate(fields)}
        col = {n: col.get(n, "CAST(NULL AS VARCHAR)") for n in CONN + DNS}
        src = (f"read_csv('{path.replace(chr(39), chr(39) * 2)}', delim='\t', header=false, "
               f"quote='', escape='', null_padding=true, auto_detect=false, "
               f"columns={{{cols}}})")
        sql = f"SELECT {select(col)} FROM {src} WHERE NOT starts_with(c0, '#')"
        db.execute(f"CREATE TABLE {table} AS {sql}" if i == 0 else f"INSERT INTO {table} {sql}")


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
    a = ap.parse_args()
    phase("start")
    start, end = period_bounds(a.period)
    sites, cat = Sites(a.sites), Catalog(a.vendors)
    geo = maxminddb.open_database(a.geoip)
    db = duckdb.connect()
    db.execute(f"PRAGMA threads={a.threads}")
    db.execute("SET preserve_insertion_order=true")

    # Conn records, every parsed field type-checked; pos = sorted file and line order.
    conn_files = zeek_files(a.logs, "conn", ["ts", "id.orig_h", "id.resp_h"])
    load_zeek(db, "conn", conn_files, lambda c: f"""
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

    dns_files = zeek_files(a.logs, "dns", ["ts", "id.orig_h"])
    load_zeek(db, "dnsraw", dns_files, lambda d: f"""
        {micros(d['ts'])} AS ts, {unset(d['uid'])} AS uid, {d['id.orig_h']} AS client,
        CAST({unset(d['trans_id'])} AS UINTEGER) AS trans_id,
        CAST({unset(d['rtt'])} AS DOUBLE) AS rtt,
        coalesce(lower(rtrim(trim({unset(d['query'])}), '.')), '') AS query,
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
    phase(f"dns: {n_dns} records loaded")

    # Every address answer with its TTL (answers and TTLs zip by position).
    db.execute("""CREATE TABLE answers AS SELECT pos, client, response, query,
        unnest(range(1, len(string_split(answers, ',')) + 1)) AS idx,
        trim(unnest(string_split(answers, ','))) AS address,
        CAST(floor(CAST(unnest(string_split(ttls, ',')) AS DOUBLE)) AS UBIGINT) AS ttl
      FROM dns WHERE answers IS NOT NULL AND query <> ''""")
    queries = [q for (q,) in db.execute("SELECT DISTINCT query FROM dns WHERE query <> ''").fetchall()]
    vq = [(q, p) for q in queries if (p := cat.match_host(q)) is not None]
    db.register("vq_df", pd.DataFrame(vq, columns=["query", "pid"]).astype({"pid": "int32"}))
    db.execute("CREATE TABLE vq AS SELECT * FROM vq_df")
    # Answers for addresses some vendor name resolved to; one per (client, address, time):
    # the later record in input order (then the later answer in it) wins a tie, as in
    # xborder. arg_max skips NULL values, so the missing TTL is a sentinel first.
    db.execute("""CREATE TABLE obs AS SELECT client, address, response,
        arg_max(query, pos * 65536 + idx) AS query,
        arg_max(coalesce(ttl, 4294967295), pos * 65536 + idx) AS ttl
      FROM answers WHERE address IN (SELECT DISTINCT address FROM answers JOIN vq USING (query))
      GROUP BY client, address, response""")
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
    limit = (f"CASE WHEN o.ttl = 4294967295 THEN {a.dns_max_age} "
             f"ELSE least(o.ttl + {a.dns_ttl_grace}, {a.dns_max_age}) END * 1000000")
    db.execute(f"""CREATE TABLE egress AS
      WITH e AS (
        SELECT c.ts, c.src, c.dst, c.bytes_out, c.bytes_in,
               coalesce(s.site, 'unknown_site') AS site, coalesce(s.site_country, '') AS sc,
               t.country AS dc, t.range_pid
        FROM conn c JOIN srcinfo s USING (src) JOIN dstinfo t USING (dst)
        WHERE c.rowid NOT IN (SELECT pos FROM dup) AND c.ts >= {start} AND c.ts < {end}
          AND (s.local OR c.local_orig IS TRUE) AND NOT t.special),
      m AS (
        SELECT e.*, CASE WHEN o.response IS NOT NULL AND e.ts - o.response <= {limit}
                         THEN o.query END AS name
        FROM e ASOF LEFT JOIN obs o
          ON e.src = o.client AND e.dst = o.address AND e.ts >= o.response)
      SELECT m.* EXCLUDE (name, range_pid),
             coalesce(vq.pid, m.range_pid) AS pid,
             CASE WHEN vq.pid IS NOT NULL THEN 'dns'
                  WHEN m.range_pid IS NOT NULL THEN 'ip_range' END AS attribution,
             CAST(to_timestamp(m.ts // 1000000) AS DATE)::VARCHAR AS day
      FROM m LEFT JOIN vq ON vq.query = m.name""")
    n_eg, n_ai = db.execute("SELECT count(*), count(pid) FROM egress").fetchall()[0]
    phase(f"egress: {n_eg} flows, {n_ai} to AI vendors")

    prods = pd.DataFrame([(i, *p) for i, p in enumerate(cat.products)],
                         columns=["pid", "vendor", "hq", "product", "category"]).astype({"pid": "int32"})
    db.register("products", prods)
    verdicts(db, a.xborder_out)
    os.makedirs(a.out, exist_ok=True)
    write_tables(db, a.out)
    phase("tables written")
    compare(a.out, a.xborder_out)
    phase("identical to xborder's")


def verdicts(db, xout):
    """The legal decisions of the run, read from xborder's outputs (see the header)."""
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


def rfc3339(col):
    """chrono's AutoSi: no fraction when whole, else 3 or 6 digits."""
    return f"""(strftime(to_timestamp({col} // 1000000), '%Y-%m-%dT%H:%M:%S') ||
      CASE WHEN {col} % 1000000 = 0 THEN ''
           WHEN {col} % 1000 = 0 THEN '.' || lpad(CAST(({col} % 1000000) // 1000 AS VARCHAR), 3, '0')
           ELSE '.' || lpad(CAST({col} % 1000000 AS VARCHAR), 6, '0') END || 'Z')"""


def write_tables(db, out):
    sums = f"""count(*) AS flows, sum(coalesce(bytes_out, 0)) AS bytes_out,
      sum(coalesce(bytes_in, 0)) AS bytes_in, count(DISTINCT src) AS distinct_sources,
      {rfc3339('min(ts)')} AS first_seen, {rfc3339('max(ts)')} AS last_seen"""
    db.execute("""CREATE TABLE ai AS SELECT e.*, p.vendor, p.hq, p.product, p.category
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


def compare(mine, theirs):
    bad = False
    for name in OUTPUTS:
        a = open(os.path.join(mine, name), "rb").read().split(b"\n")
        b = open(os.path.join(theirs, name), "rb").read().split(b"\n")
        if a == b:
            print(f"  {name}: identical ({len(a) - 2} rows)", file=sys.stderr)
            continue
        bad = True
        i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        print(f"DIFFERS {name} at line {i + 1} (baseline {len(a) - 1} lines, xborder "
              f"{len(b) - 1}):\n  baseline: {a[i][:400] if i < len(a) else b'<end>'}\n"
              f"  xborder:  {b[i][:400] if i < len(b) else b'<end>'}", file=sys.stderr)
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
