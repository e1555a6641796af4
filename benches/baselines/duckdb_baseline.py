"""The same aggregation in DuckDB SQL. The DNS join is simplified, as in the pandas
baseline: a vendor address is any address a vendor hostname resolved to (from the DNS
logs, in SQL), for every client at every time. GeoIP is precomputed: distinct destination
addresses are looked up once with maxminddb and joined as a table.
usage: duckdb_baseline.py VENDORS.toml GEOIP.mmdb OUT.csv LOGDIR"""
import os
import sys

import duckdb
import maxminddb
import pandas as pd

from common import CONN, DNS, match, vendor_hosts

vendors, mmdb, out, logdir = sys.argv[1:5]
hosts, suffixes = vendor_hosts(vendors)
geo = maxminddb.open_database(mmdb)
db = duckdb.connect()
db.execute("PRAGMA threads=2")


def csv(glob, names):
    cols = ", ".join(f"'{n}': 'VARCHAR'" for n in names)
    return (f"read_csv('{os.path.join(logdir, glob)}', delim='\t', header=false, comment='#', "
            f"nullstr='-', columns={{{cols}}}, auto_detect=false)")


names = db.execute(f"SELECT DISTINCT query FROM {csv('dns.*', DNS)}").fetchall()
vq = [(q, *vp) for (q,) in names if q and (vp := match(q, hosts, suffixes))]
db.register("vq", pd.DataFrame(vq, columns=["query", "vendor", "product"]))
db.execute(f"""CREATE TABLE va AS SELECT DISTINCT a AS addr, vendor, product FROM
  (SELECT unnest(string_split(answers, ',')) AS a, query FROM {csv('dns.*', DNS)}) d
  JOIN vq USING (query) WHERE regexp_matches(a, '^[0-9]|:')""")
addrs = [a for (a,) in db.execute("SELECT DISTINCT addr FROM va").fetchall()]


def country(ip):
    r = geo.get(ip) or {}
    c = r.get("country") or r.get("registered_country") or {}
    return c.get("iso_code") or r.get("country_code") or "ZZ"


db.register("geo", pd.DataFrame([(a, country(a)) for a in addrs], columns=["addr", "country"]))
db.execute(f"""COPY (
  WITH c AS (SELECT DISTINCT ON (uid) "id.orig_h" AS src, "id.resp_h" AS dst,
                    COALESCE(TRY_CAST(orig_bytes AS UBIGINT), 0) AS up,
                    COALESCE(TRY_CAST(resp_bytes AS UBIGINT), 0) AS down
             FROM {csv('conn.*', CONN)})
  SELECT CASE WHEN starts_with(src, 'fd10') THEN 'hangzhou'
              WHEN starts_with(src, '10.10.') THEN 'hangzhou'
              WHEN starts_with(src, '10.20.') THEN 'shanghai'
              WHEN starts_with(src, '10.30.') THEN 'hongkong'
              WHEN starts_with(src, '10.40.') THEN 'dublin'
              WHEN starts_with(src, '10.50.') THEN 'sanfrancisco'
              ELSE 'unknown_site' END AS source_site,
         geo.country AS destination_country, vendor, product,
         count(*) AS flows, sum(up) AS bytes_out, sum(down) AS bytes_in
  FROM c JOIN va ON c.dst = va.addr JOIN geo ON c.dst = geo.addr
  GROUP BY ALL ORDER BY ALL) TO '{out}' (HEADER)""")
