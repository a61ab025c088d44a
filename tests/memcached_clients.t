#!/usr/bin/python3
"""apps/memcached with real clients and hostile ones: pymemcache (the same calls against Debian's
memcached give the same results), libmemcached's memccp/memccat in both protocols, many clients at
once, deep pipelining, a megabyte line without a newline, a client that never reads, and eviction
keeping the process's RSS within memory=."""
import os, socket, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from memcached_lib import *
from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheClientError, MemcacheServerError


def pymemcache_session(port):
    """A run of pymemcache calls; returns what each gave (CAS values replaced by their order)."""
    c = Client(("127.0.0.1", port), connect_timeout=5, timeout=10)
    r = []
    big = bytes(range(256)) * 2000   # 512000 bytes: kept by reference
    r.append(c.set("p1", b"v1", expire=0, noreply=False))
    r.append(c.get("p1"))
    r.append(c.set_many({"m1": b"a", "m2": b"b", "m3": b"c" * 3000}, noreply=False))
    r.append(sorted(c.get_many(["m1", "m2", "m3", "nokey"]).items()))
    r.append(c.add("p1", b"x", noreply=False))
    r.append(c.add("p2", b"x", noreply=False))
    r.append(c.replace("p2", b"y", noreply=False))
    r.append(c.replace("nokey", b"y", noreply=False))
    r.append(c.append("p2", b"z", noreply=False))
    r.append(c.prepend("p2", b"w", noreply=False))
    r.append(c.get("p2"))
    v, cas = c.gets("p2")
    r.append(v)
    r.append(c.cas("p2", b"new", cas, noreply=False))
    r.append(c.cas("p2", b"newer", cas, noreply=False))
    r.append(c.cas("nokey", b"x", b"1", noreply=False))
    r.append(c.set("n", b"41", noreply=False))
    r.append(c.incr("n", 1, noreply=False))
    r.append(c.decr("n", 50, noreply=False))
    r.append(c.incr("nokey", 1, noreply=False))
    r.append(c.touch("n", 100, noreply=False))
    r.append(c.touch("nokey", 100, noreply=False))
    r.append(c.delete("n", noreply=False))
    r.append(c.delete("n", noreply=False))
    r.append(c.set("big", big, noreply=False))
    r.append(c.get("big") == big)
    r.append(c.get("big") == big)
    r.append(c.get_many(["big", "p1"]).get("big") == big)
    try:
        c.set("k" * 251, b"v", noreply=False)
        r.append("no error")
    except MemcacheClientError as e:
        r.append("client error")
    try:
        c.set("huge", b"x" * (2 << 20), noreply=False)
        r.append("no error")
    except MemcacheServerError as e:
        r.append(str(e))
    r.append(c.version())
    r.append(c.flush_all(noreply=False))
    r.append(c.get("p1"))
    c.close()
    return r


def hammer(c, idx, n, errors, start):
    try:
        start.wait()
        for i in range(n):
            k = "c%d_%d" % (idx, i % 37)
            v = ("%d-%d-" % (idx, i)).encode() * (1 + i % 50)
            c.set(k, v, noreply=False)
            got = c.get(k)
            if got != v:
                errors.append("%s: got %r want %r" % (k, got[:40] if got else got, v[:40]))
                return
    except Exception as e:
        errors.append("client %d: %r" % (idx, e))
    finally:
        c.close()


def connect_clients(port, n, secs):
    """n connected pymemcache clients, opened one after the other: QEMU's user networking
    accepts forwarded connections with a backlog of 1, so 40 SYNs at once would have most
    dropped and retried by the kernel's backoff (1, 3, 7, 15 s ...) on a loaded machine."""
    clients, end = [], time.time() + secs
    while len(clients) < n and time.time() < end:
        c = Client(("127.0.0.1", port), connect_timeout=30, timeout=120)
        try:
            c.version()   # connects
            clients.append(c)
        except Exception:
            c.close()
            time.sleep(0.2)
    return clients


def pipelined(port):
    """2000 mixed requests in one write; replies must come in order, each right."""
    req, want = [], []
    for i in range(2000):
        k = b"pl%d" % (i % 100)
        if i % 3 == 0:
            v = b"%d" % i
            req.append(b"set %s 0 0 %d\r\n%s\r\n" % (k, len(v), v))
            want.append(b"STORED\r\n")
            last = v
            req.append(b"get %s\r\n" % k)
            want.append(b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (k, len(last), last))
        elif i % 3 == 1:
            req.append(b"get nokey%d\r\n" % i)
            want.append(b"END\r\n")
        else:
            req.append(b"version\r\n")
            want.append(b"VERSION 1.6.18\r\n")
    out = ascii_exchange(port, b"".join(req), secs=30)
    return out == b"".join(want)


def main():
    plan(24 if NATIVE else 25)
    pours, pref = free_port(), free_port()
    ours = start_ours(pours)
    ref = start_ref(pref)
    if not ours or not ref:
        ok(False, "both servers start")
        stop(ours); stop(ref); done()
    try:
        a, b = pymemcache_session(pours), pymemcache_session(pref)
        ok(a == b, "pymemcache: every call gives what it gives against Debian's memcached",
           "ours %r" % a, "ref  %r" % b)
        ok(a[24] is True and a[26] is True and a[3] == [("m1", b"a"), ("m2", b"b"), ("m3", b"c" * 3000)],
           "pymemcache: a 500 KB value and get_many come back intact")

        # libmemcached's tools, ASCII and binary.
        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "blob.bin")
            data = os.urandom(300000)
            open(f, "wb").write(data)
            srv = "--servers=127.0.0.1:%d" % pours
            for proto in ([], ["--binary"]):
                cp = subprocess.run(["memccp", srv] + proto + [f], capture_output=True, timeout=30)
                cat = subprocess.run(["memccat", srv] + proto + ["blob.bin"], capture_output=True, timeout=30)
                ok(cp.returncode == 0 and cat.stdout == data + b"\n",  # memccat ends with a newline
                   "libmemcached memccp/memccat %s: 300 KB round trip" % (proto[0] if proto else "ascii"),
                   cp.stderr, cat.stderr)

        # Many clients at once.
        # All 40 are connected before any starts (a barrier), so they really run at once.
        errors = []
        clients = connect_clients(pours, 40, 120)
        start = threading.Barrier(len(clients))
        th = [threading.Thread(target=hammer, args=(c, i, 150, errors, start)) for i, c in enumerate(clients)]
        [t.start() for t in th]
        [t.join() for t in th]
        ok(len(clients) == 40 and not errors, "40 clients at once, 150 set+get each, every value right",
           "%d of 40 connected" % len(clients), *errors[:5])
        s = stats(pours)
        ok(int(s["total_connections"]) >= 40, "stats: total_connections counts them (%s)" % s["total_connections"])

        ok(pipelined(pours), "2000 pipelined requests in one write: replies in order, all right")
        ok(pipelined(pref), "(the same pipeline against Debian's memcached)")

        # A megabyte without a newline: the connection is closed, counted, nothing else hurt.
        before = int(stats(pours)["conn_line_too_long"])
        s1 = socket.create_connection(("127.0.0.1", pours))
        try:
            s1.sendall(b"x" * (1 << 20))
        except OSError:
            pass
        out = recv_until(s1, lambda o: False, 10)
        s1.close()
        ok(out.endswith(b"<EOF>"), "a 1 MB line without a newline: connection closed")
        ok(int(stats(pours)["conn_line_too_long"]) == before + 1, "...and counted (conn_line_too_long)")

        # A client that asks for much more than it reads: bounded, counted, dropped.
        ascii_exchange(pours, b"set fat 0 0 1000000\r\n" + b"f" * 1000000 + b"\r\n")
        rss0, gets0 = rss_kb(ours.pid), int(stats(pours)["cmd_get"])
        s2 = socket.create_connection(("127.0.0.1", pours))
        s2.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s2.settimeout(10)
        sent = 0
        try:
            for i in range(20000):   # 24 MB of requests asking for 5 TB of replies
                s2.sendall(b"get fat fat fat fat fat fat fat fat\r\n" * 32)
                sent += 1
        except (socket.timeout, OSError):
            pass
        time.sleep(0.5)
        rss1 = rss_kb(ours.pid)
        s = stats(pours)
        ok(rss1 - rss0 < 64 * 1024, "a client that never reads: RSS grew %d KB (< 64 MB)" % (rss1 - rss0))
        ok(int(s["cmd_get"]) - gets0 < 1000, "...it stopped being served (%d of %d gets)" % (int(s["cmd_get"]) - gets0, sent * 256))
        ok(int(s["conn_output_overflow"]) >= 1, "...and was dropped once it sent on regardless, counted (conn_output_overflow %s)" % s["conn_output_overflow"])
        s2.close()
        ok(ascii_exchange(pours, b"get p1 nokey\r\n") == b"END\r\n", "others are still served")
        # The table grows under writers while readers on another core keep finding everything.
        fixed = b"".join(b"set fx%d 0 0 4\r\nv%03d\r\n" % (i, i % 1000) for i in range(1000))
        ok(ascii_exchange(pours, fixed).count(b"STORED") == 1000, "1000 fixed keys stored")
        power0 = int(stats(pours)["hash_power_level"])
        stop_reads, misses, reads = [], [0], [0]
        def reader():
            want = b"".join(b"VALUE fx%d 0 4\r\nv%03d\r\n" % (i, i % 1000) for i in range(0, 1000, 10)) + b"END\r\n"
            req = b"get " + b" ".join(b"fx%d" % i for i in range(0, 1000, 10)) + b"\r\n"
            while not stop_reads:
                if ascii_exchange(pours, req * 5) != want * 5:
                    misses[0] += 1
                reads[0] += 1
        rt = threading.Thread(target=reader)
        rt.start()
        w = socket.create_connection(("127.0.0.1", pours))
        for j in range(40):
            w.sendall(b"".join(b"set gr%d_%d 0 0 1 noreply\r\nx\r\n" % (j, i) for i in range(5000)))
        w.sendall(b"mn\r\n")
        recv_until(w, lambda o: o.endswith(b"MN\r\n"), 60)
        w.close()
        stop_reads.append(1)
        rt.join()
        power1 = int(stats(pours)["hash_power_level"])
        ok(power1 >= power0 + 1, "the table grew from 2^%d to 2^%d buckets with 200000 keys" % (power0, power1))
        ok(misses[0] == 0 and reads[0] > 0, "readers on another connection never missed while it grew (%d reads of 500 keys)" % reads[0])
        ok(ours.poll() is None, "our server survived all of it")
    finally:
        stop(ours)
        stop(ref)

    # Eviction: 120 MB of values through memory=16; RSS stays near the bound.
    port = free_port()
    ev = start_ours(port, "memory=16")
    if not ok(ev is not None, "server with memory=16 starts"):
        done()
    try:
        base = rss_kb(ev.pid)
        s = socket.create_connection(("127.0.0.1", port))
        val = b"e" * 10000
        batch = b"".join(b"set ev%d 0 0 10000 noreply\r\n%s\r\n" % (i, val) for i in range(100))
        peak = 0
        for j in range(120):
            s.sendall(batch.replace(b"set ev", b"set ev%d_" % j))
            if j % 10 == 9:
                s.sendall(b"mn\r\n")
                recv_until(s, lambda o: o.endswith(b"MN\r\n"), 60)
                s.settimeout(120)
                peak = max(peak, rss_kb(ev.pid))
        s.close()
        st = stats(port)
        ok(int(st["evictions"]) > 5000, "evictions counted (%s)" % st["evictions"])
        ok(int(st["bytes"]) <= 16 << 20, "bytes held %s <= 16 MiB" % st["bytes"])
        if not NATIVE:  # natively QEMU's RSS is the guest's touched RAM, not the server's
          ok(peak - base < 32 * 1024, "RSS grew %d KB over %d KB at start while 120 MB went through (bound 16 MiB, < 32 MiB allowed; %s stores refused for memory)" % (peak - base, base, st.get("store_no_memory")))
        ok(ascii_exchange(port, b"set fresh 0 0 10000\r\n" + val + b"\r\nget fresh\r\n") ==
           b"STORED\r\nVALUE fresh 0 10000\r\n" + val + b"\r\nEND\r\n", "a store after it all is kept")
        ok(ascii_exchange(port, b"get ev0_0\r\n") == b"END\r\n", "the oldest was evicted")
        items = stats(port, "items")
        ok(items.get("items:1:evicted") == st["evictions"], "stats items: evicted matches")
    finally:
        stop(ev)
    done()


main()
