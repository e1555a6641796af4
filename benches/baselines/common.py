"""Shared pieces of the two baselines: the conn/dns column names and the vendor hostname
table read from xborder's own catalog (exact hosts and dedicated suffixes, nothing more:
what a user would lift from such a list)."""
import tomllib

CONN = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes "
        "resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts "
        "orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents").split()
DNS = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto trans_id rtt query qclass "
       "qclass_name qtype qtype_name rcode rcode_name AA TC RD RA Z answers TTLs rejected").split()

SITES = {"10.10": "hangzhou", "10.20": "shanghai", "10.30": "hongkong", "10.40": "dublin",
         "10.50": "sanfrancisco", "fd10": "hangzhou"}


def vendor_hosts(path):
    """{hostname: (vendor, product)} and [(suffix, vendor, product)] from vendors.toml."""
    with open(path, "rb") as f:
        cat = tomllib.load(f)
    hosts, suffixes = {}, []
    for v in cat["vendor"]:
        for p in v.get("product", []):
            for h in p.get("hosts", []):
                hosts[h] = (v["name"], p["name"])
            for s in p.get("suffixes", []):
                suffixes.append((s, v["name"], p["name"]))
    return hosts, suffixes


def match(name, hosts, suffixes):
    if name in hosts:
        return hosts[name]
    best = None
    for s, v, p in suffixes:
        if (name == s or name.endswith("." + s)) and (best is None or len(s) > len(best[0])):
            best = (s, v, p)
    return best[1:] if best else None


def site_of(ip):
    return SITES.get(ip[:4] if ip.startswith("fd") else ".".join(ip.split(".")[:2]), "unknown_site")
