"""Resident memory of the local gateway under a burst of sign-ups and logins
(each one Argon2id hash of 19 MiB working memory).

Usage: python3 benches/signup_rss.py target/debug/local-gateway [users] [in flight]
Prints the gateway's RSS when idle, after the burst, and 2 s later.
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

binary = sys.argv[1]
users = int(sys.argv[2]) if len(sys.argv) > 2 else 200
in_flight = int(sys.argv[3]) if len(sys.argv) > 3 else 16
gw = subprocess.Popen([binary], env={**os.environ, "PORT": "0", "RUST_LOG": "error"}, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
base = re.search(r"http://127\.0\.0\.1:\d+", gw.stdout.readline()).group(0)
def post(path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r: return r.status
    except urllib.error.HTTPError as e: return e.code
def rss():
    d = dict(l.split(":", 1) for l in open(f"/proc/{gw.pid}/status"))
    return d["VmRSS"].strip(), d["VmHWM"].strip()
print("idle", rss())
def one(i):
    a = post("/api/users/register/", {"username": f"u{i}", "email": f"u{i}@example.com", "password": "correct horse battery"})
    b = post("/api/users/token/", {"email": f"u{i}@example.com", "password": "correct horse battery"})
    return a, b
t = time.time()
with ThreadPoolExecutor(in_flight) as ex: res = list(ex.map(one, range(users)))
print(f"{users} sign-ups + {users} logins, {in_flight} in flight:", round(time.time() - t, 1), "s", set(res), "rss/peak", rss())
time.sleep(2); print("after 2 s idle", rss())
gw.kill()
