"""The script a user would otherwise write: pandas reads the Zeek logs, maps vendor
hostnames from the DNS log to the addresses they resolved to (any client, any time: no
per-client TTL window), looks countries up with maxminddb once per distinct address, and
sums flows and bytes per site, country, vendor and product.

Reads conn logs in chunks of 2 M rows (a whole 10^8-row frame does not fit in memory);
duplicates (same uid) are dropped within a chunk only.
usage: pandas_baseline.py VENDORS.toml GEOIP.mmdb OUT.csv LOGDIR"""
import glob
import os
import sys

import maxminddb
import pandas as pd

from common import CONN, DNS, match, site_of, vendor_hosts

vendors, mmdb, out, logdir = sys.argv[1:5]
hosts, suffixes = vendor_hosts(vendors)
geo = maxminddb.open_database(mmdb)


def country(ip):
    r = geo.get(ip) or {}
    c = r.get("country") or r.get("registered_country") or {}
    return c.get("iso_code") or r.get("country_code") or "ZZ"


def read(path, names, usecols, **kw):
    return pd.read_csv(path, sep="\t", comment="#", header=None, names=names,
                       usecols=usecols, na_values="-", keep_default_na=False, **kw)


addr_vendor = {}
for path in sorted(glob.glob(os.path.join(logdir, "dns.*"))):
    for d in read(path, DNS, ["query", "answers"], chunksize=2_000_000):
        d = d.dropna()
        d["vp"] = d["query"].map(lambda q: match(q, hosts, suffixes))
        d = d.dropna(subset=["vp"])
        for answers, vp in zip(d["answers"], d["vp"]):
            for a in answers.split(","):
                if a[:1].isdigit() or ":" in a:
                    addr_vendor[a] = vp

totals = {}
countries = {}
cols = ["uid", "id.orig_h", "id.resp_h", "orig_bytes", "resp_bytes"]
for path in sorted(glob.glob(os.path.join(logdir, "conn.*"))):
    for c in read(path, CONN, cols, chunksize=2_000_000):
        c = c.drop_duplicates("uid")
        c = c[c["id.resp_h"].isin(addr_vendor.keys())]
        for src, dst, up, down in zip(c["id.orig_h"], c["id.resp_h"], c["orig_bytes"].fillna(0),
                                      c["resp_bytes"].fillna(0)):
            if dst not in countries:
                countries[dst] = country(dst)
            v, p = addr_vendor[dst]
            k = (site_of(src), countries[dst], v, p)
            t = totals.setdefault(k, [0, 0, 0])
            t[0] += 1
            t[1] += int(up)
            t[2] += int(down)

rows = [(*k, *v) for k, v in sorted(totals.items())]
pd.DataFrame(rows, columns=["source_site", "destination_country", "vendor", "product", "flows",
                            "bytes_out", "bytes_in"]).to_csv(out, index=False)
