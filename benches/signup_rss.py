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


def main():
    binary = sys.argv[1]
    users = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    in_flight = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    gateway = subprocess.Popen(
        [binary], env={**os.environ, "PORT": "0", "RUST_LOG": "error"},
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    base = re.search(r"http://127\.0\.0\.1:\d+", gateway.stdout.readline()).group(0)

    def post(path, body):
        request = urllib.request.Request(
            base + path, data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def memory():
        with open(f"/proc/{gateway.pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status)
        return f"RSS {fields['VmRSS'].strip()}, peak {fields['VmHWM'].strip()}"

    def sign_up_and_log_in(i):
        email, password = f"u{i}@example.com", "correct horse battery"
        post("/api/users/register/", {"username": f"u{i}", "email": email, "password": password})
        # Unverified, so 403, but only after the password was checked (one more hash).
        post("/api/users/token/", {"email": email, "password": password})

    try:
        print("idle:", memory())
        started = time.time()
        with ThreadPoolExecutor(in_flight) as pool:
            list(pool.map(sign_up_and_log_in, range(users)))
        elapsed = time.time() - started
        print(f"{users} sign-ups and logins, {in_flight} in flight, {elapsed:.1f} s:", memory())
        time.sleep(2)
        print("2 s later:", memory())
    finally:
        gateway.kill()


if __name__ == "__main__":
    main()
