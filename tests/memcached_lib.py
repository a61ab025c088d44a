"""Shared by the memcached tests and benchmark: TAP output, free ports, starting our server and
Debian's memcached (the reference), raw ASCII/binary exchanges."""
import os, re, socket, struct, subprocess, sys, threading, time

B = os.environ.get("B", "build")
n_tests = 0
failed = 0


def ok(cond, name, *diag):
    global n_tests, failed
    n_tests += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n_tests, name), flush=True)
    if not cond:
        failed += 1
        for d in diag:
            for line in str(d).splitlines()[:20]:
                print("#   " + line[:300], flush=True)
    return cond


planned = 0


def plan(n):
    """Printed first, so that prove fails a run that stops short."""
    global planned
    planned = n
    print("1..%d" % n, flush=True)


def done():
    if not planned:
        print("1..%d" % n_tests, flush=True)
    elif n_tests != planned:
        print("# planned %d assertions, ran %d" % (planned, n_tests), flush=True)
    sys.exit(1 if failed or (planned and n_tests != planned) else 0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc, secs=20):
    end = time.time() + secs
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


NATIVE = os.environ.get("MC_PLATFORM") == "native"


def start_ours(port, *args, cores=2):
    """Hosted, or with MC_PLATFORM=native the image under QEMU (user networking, the port
    forwarded from loopback)."""
    if NATIVE:
        cmd = ["scripts/qemu-run", "--smp", str(cores), "--net",
               "user,hostfwd=tcp:127.0.0.1:%d-:11211" % port, B + "/native/memcached.elf",
               "cores=%d" % cores] + list(args)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # QEMU accepts on the forwarded port before the guest listens: wait for its line.
        end = time.time() + 120
        while time.time() < end and p.poll() is None:
            line = p.stdout.readline()
            if "memcached: ready" in line:
                threading.Thread(target=p.stdout.read, daemon=True).start()
                return p
        stop(p)
        return None
    p = subprocess.Popen([B + "/hosted/memcached", "port=%d" % port, "cores=%d" % cores] + list(args),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return p if wait_port(port, p) else None


def start_ref(port, *args, threads=2):
    """Debian's memcached on loopback only (never its service port unless asked)."""
    user = ["-u", "root"] if os.geteuid() == 0 else []
    p = subprocess.Popen(["memcached", "-p", str(port), "-l", "127.0.0.1", "-U", "0",
                          "-t", str(threads)] + user + list(args),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return p if wait_port(port, p) else None


def stop(p):
    if p and p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def recv_until(s, done_fn, secs=5):
    """Reads until done_fn(data) or EOF (marked b'<EOF>') or the time is up."""
    s.settimeout(0.2)
    out = b""
    end = time.time() + secs
    while time.time() < end and not done_fn(out):
        try:
            d = s.recv(1 << 20)
        except socket.timeout:
            continue
        except OSError:
            d = b""
        if not d:
            return out + b"<EOF>"
        out += d
    return out


def ascii_exchange(port, data, secs=5):
    """Sends data then `mn` (answered MN) and returns what came back before MN. An `mn` in data
    is answered MN too: the reply ends at the last one, however the bytes were split."""
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(data + b"mn\r\n")
    except OSError:
        pass
    mns = len(re.findall(rb"(?m)^mn( [^\r\n]*)?\r$", data)) + 1
    out = recv_until(s, lambda o: o.endswith(b"MN\r\n") and o.count(b"MN\r\n") >= mns, secs)
    s.close()
    return out[:-4] if out.endswith(b"MN\r\n") else out


def norm_ascii(out):
    # CAS values differ by design.
    return re.sub(rb"(?m)^(VALUE \S+ \d+ \d+) \d+\r$", rb"\1 CAS\r", out)


def breq(op, key=b"", extras=b"", val=b"", cas=0, opaque=0x01020304, magic=0x80):
    return struct.pack(">BBHBBHIIQ", magic, op, len(key), len(extras), 0, 0,
                       len(key) + len(extras) + len(val), opaque, cas) + extras + key + val


SENTINEL = 0xFEEDFACE


def parse_bin(out):
    rs = []
    while len(out) >= 24:
        m, op, kl, el, dt, st, bl, opq, cas = struct.unpack(">BBHBBHIIQ", out[:24])
        if len(out) < 24 + bl:
            break
        body = out[24:24 + bl]
        out = out[24 + bl:]
        rs.append((m, op, st, kl, el, opq, cas, body))
    return rs, out


def bin_exchange(port, data, secs=5):
    """Sends data then a NOOP with opaque SENTINEL; returns the responses before it as tuples
    (magic, op, status, keylen, extlen, opaque, cas, body), and b'<EOF>' if it closed."""
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(data + breq(0x0A, opaque=SENTINEL))
    except OSError:
        pass

    def have_sentinel(o):
        rs, _ = parse_bin(o)
        return any(r[5] == SENTINEL and r[1] == 0x0A for r in rs)
    out = recv_until(s, have_sentinel, secs)
    s.close()
    eof = out.endswith(b"<EOF>")
    rs, rest = parse_bin(out[:-5] if eof else out)
    rs = [r for r in rs if not (r[5] == SENTINEL and r[1] == 0x0A)]
    return rs, eof


def stats(port, group=""):
    out = ascii_exchange(port, ("stats %s\r\n" % group).encode())
    d = {}
    for line in out.decode(errors="replace").splitlines():
        f = line.split(" ", 2)
        if len(f) == 3 and f[0] == "STAT":
            d[f[1]] = f[2]
    return d


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
