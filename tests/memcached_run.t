#!/usr/bin/python3
"""`make run` (default: the native memcached under QEMU, user networking, the port forwarded from
loopback): a client stores and reads through it, then Ctrl-C (SIGINT to the foreground process
group, as a terminal sends it) stops make, qemu-run and QEMU cleanly and frees the port."""
import os, signal, socket, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from memcached_lib import *

plan(5)
port = free_port()
env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE") and k != "MFLAGS"}
# The default's NET, on a free port instead of 11211 (which the user may be using).
p = subprocess.Popen(["make", "--no-print-directory", "run",
                      "NET=user,hostfwd=tcp:127.0.0.1:%d-:11211" % port],
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                     start_new_session=True)
out, ready = [], False
end = time.time() + 180
while time.time() < end and p.poll() is None:
    line = p.stdout.readline()
    out.append(line)
    if "memcached: ready on 10.0.2.15 port 11211" in line:
        ready = True
        break
if not ok(ready, "make run boots the native memcached on QEMU's user network", *out[-10:]):
    os.killpg(p.pid, signal.SIGKILL)
    done()
got = ascii_exchange(port, b"set run 5 0 5\r\nhello\r\nget run\r\n", secs=30)
ok(got == b"STORED\r\nVALUE run 5 5\r\nhello\r\nEND\r\n", "a client on localhost stores and reads through the forwarded port", got)
os.killpg(p.pid, signal.SIGINT)   # what Ctrl-C does
try:
    p.wait(30)
    stopped = True
except subprocess.TimeoutExpired:
    stopped = False
ok(stopped, "Ctrl-C ends make run within 30 s")
left = subprocess.run(["pgrep", "-f", "hostfwd=tcp:127.0.0.1:%d-" % port], capture_output=True, text=True).stdout.split()
ok(not left, "...and no QEMU is left running", left)
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    freed = False
except OSError:
    freed = True
ok(freed, "...and the port is free again")
if not stopped or left:
    os.killpg(p.pid, signal.SIGKILL)
done()
