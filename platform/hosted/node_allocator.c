/* The NodeAllocator (ebbs/node_allocator.ebb.h, docs/cluster.md): a hosted front end boots native
 * nodes in QEMU and links them to itself through a switch of its own (switch.c) over a unix
 * socket, speaking to them with this project's stack on that switch: no root, no tap, no kernel
 * address.
 *
 * The first allocation sets the cluster up, on the calling core (which must be the Messenger's):
 * a run directory RUNDIR = ${XDG_RUNTIME_DIR:-/tmp}/ebbrt-cluster-UID/run-PID (mode 0700), a fresh
 * cluster key in RUNDIR/key (0600; a node reads it as a QEMU fw_cfg file, never from a command
 * line), the switch on RUNDIR/switch.sock, the stack at 10.254.0.1/16 on it as this image's
 * network, and the Messenger listening there as node 0. Node K (1, 2, ...) is at 10.254.0.0 + K
 * + 1 and gets node=K, its address and cluster= on its command line; it connects back to node 0
 * at once, which resolves its allocation.
 *
 * Membership: node 0 and each node that comes up join the GlobalIdMap (with the address their
 * Messenger listens on) before the allocation resolves, and leave it when freed or dead.
 *
 * A node's exit is seen on its pidfd: calls pending on it fail with EBB_ENODEDOWN, here and (told
 * through their Messengers) on the other nodes. QEMU gets
 * PR_SET_PDEATHSIG, and the run directory holds a pid file per QEMU: on exit (and on SIGINT,
 * SIGTERM, SIGHUP) everything is killed and removed; a later front end removes what a SIGKILL
 * left (run directories whose front end is gone, killing the QEMUs their pid files name, after
 * checking the process's command line names that directory). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/config.h"
#include "core/event.h"
#include "core/log.h"
#include "core/messenger.h"
#include "core/platform.h"
#include "ebb_hosted.h"
#include "ebbs/globalidmap.gen.h"
#include "ebbs/node_allocator.gen.h"
#include "host_numa.h"
#include "net/stack.h"
#include "net_hosted.h"

#define CLUSTER_NET "10.254.0.0"
#define CLUSTER_IP IP4(10, 254, 0, 0)
#define CLUSTER_PREFIX 16
#define CLUSTER_PORT 7000
#define KEY_FW_CFG "opt/ebbrt/key"
#define KEY_LEN 32
#define MAX_NODES (EBB_MAX_NODES < 4096 ? EBB_MAX_NODES : 4096)
#define PATH_MAX_ 512

struct node {
    pid_t pid;               /* 0: free slot */
    int pidfd;
    bool up, freed;
    ebb_promise_t p;         /* the allocation, until up */
    struct ebb_timer boot;
    char pidfile[PATH_MAX_ + 32], log[PATH_MAX_ + 32];
};

struct alloc {
    const struct node_allocator *ops; /* first: the rep */
    bool started;
    unsigned core;
    struct eth_switch *sw;
};

/* Paths and pids live in plain static memory: the signal handler reads them. */
static struct alloc the_alloc;
static struct node nodes[MAX_NODES];
static unsigned front; /* this front end's node number (node=, default 0) */
static char rundir[PATH_MAX_], keyfile[PATH_MAX_ + 16], sockfile[PATH_MAX_ + 16], frontfile[PATH_MAX_ + 16];
static volatile sig_atomic_t cleaning;

/* ---- the run directory, and what a SIGKILL left ---- */

static const char *base_dir(char *buf, size_t n)
{
    const char *x = getenv("XDG_RUNTIME_DIR");
    snprintf(buf, n, "%s/ebbrt-cluster-%u", x && *x ? x : "/tmp", (unsigned)getuid());
    return buf;
}

/* The start time of process pid (field 22 of /proc/PID/stat), 0 if it is not there. */
static unsigned long long start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long t = 0;
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                    "%*d %*d %llu", &t) != 1)
        t = 0;
    return t;
}

/* pid's command line names dir (a QEMU this cluster started, not a reused pid). */
static bool cmdline_has(pid_t pid, const char *dir)
{
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    for (ssize_t i = 0; i < n; i++)
        if (!buf[i])
            buf[i] = ' ';
    buf[n] = 0;
    return strstr(buf, dir) != NULL;
}

static long read_num_file(const char *path, unsigned long long *second)
{
    FILE *f = fopen(path, "re");
    long v = -1;
    unsigned long long s = 0;
    if (f) {
        if (fscanf(f, "%ld %llu", &v, &s) < 1)
            v = -1;
        fclose(f);
    }
    if (second)
        *second = s;
    return v;
}

/* Removes a run directory whose front end is gone: kills its QEMUs, deletes its files. */
static void remove_leftover(const char *dir)
{
    char path[PATH_MAX_ + 300];
    unsigned long long st;
    snprintf(path, sizeof path, "%s/front", dir);
    long front = read_num_file(path, &st);
    if (front > 0 && start_time((pid_t)front) == st && st)
        return; /* its front end still runs */
    DIR *d = opendir(dir);
    if (!d)
        return;
    unsigned killed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".pid")) {
            long q = read_num_file(path, NULL);
            if (q > 0 && cmdline_has((pid_t)q, dir) && kill((pid_t)q, SIGKILL) == 0)
                killed++;
        }
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
    ebb_info("cluster: removed %s, left by front end %ld (%u QEMU killed)", dir, front, killed);
}

static int make_rundir(void)
{
    char base[PATH_MAX_ - 64];
    if (snprintf(base, sizeof base, "%s", base_dir((char[PATH_MAX_]){0}, PATH_MAX_)) >= (int)sizeof base)
        return -ENAMETOOLONG;
    if (mkdir(base, 0700) < 0 && errno != EEXIST)
        return -errno;
    struct stat st;
    if (lstat(base, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077)) {
        ebb_warn("cluster: %s is not a directory only this user can use: refused", base);
        return -EPERM;
    }
    DIR *d = opendir(base);
    if (d) {
        struct dirent *e;
        char path[PATH_MAX_ + 300];
        while ((e = readdir(d)))
            if (!strncmp(e->d_name, "run-", 4) && atol(e->d_name + 4) != (long)getpid()) {
                snprintf(path, sizeof path, "%s/%s", base, e->d_name);
                remove_leftover(path);
            }
        closedir(d);
    }
    snprintf(rundir, sizeof rundir, "%s/run-%d", base, (int)getpid());
    remove_leftover(rundir); /* a former process with our pid */
    if (mkdir(rundir, 0700) < 0)
        return -errno;
    snprintf(frontfile, sizeof frontfile, "%s/front", rundir);
    FILE *f = fopen(frontfile, "we");
    if (!f)
        return -errno;
    fprintf(f, "%d %llu\n", (int)getpid(), start_time(getpid()));
    fclose(f);
    snprintf(keyfile, sizeof keyfile, "%s/key", rundir);
    snprintf(sockfile, sizeof sockfile, "%s/switch.sock", rundir);
    return 0;
}

/* Kills every node and removes the run directory. Async-signal-safe (the signal handler's). */
static void cleanup(void)
{
    if (cleaning)
        return;
    cleaning = 1;
    for (unsigned k = 0; k < MAX_NODES; k++)
        if (nodes[k].pid > 0)
            kill(nodes[k].pid, SIGKILL);
    for (unsigned k = 0; k < MAX_NODES; k++)
        if (nodes[k].pid > 0) {
            waitpid(nodes[k].pid, NULL, 0);
            unlink(nodes[k].pidfile);
            unlink(nodes[k].log);
        }
    if (rundir[0]) {
        unlink(sockfile);
        unlink(keyfile);
        unlink(frontfile);
        rmdir(rundir);
    }
}

static void on_signal(int sig)
{
    cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ---- nodes ---- */

static void node_release(unsigned k)
{
    struct node *n = &nodes[k];
    ebb_timer_cancel(&n->boot);
    if (n->pidfd >= 0) {
        ebb_fd_unwatch(n->pidfd);
        close(n->pidfd);
    }
    unlink(n->pidfile);
    unlink(n->log);
    n->pid = 0;
    n->pidfd = -1;
}

/* The last lines of a node's console, for the message saying it died. */
static void print_log_tail(const char *log)
{
    FILE *f = fopen(log, "re");
    if (!f)
        return;
    char buf[2048];
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, sz > (long)sizeof buf - 1 ? sz - (long)sizeof buf + 1 : 0, SEEK_SET);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    if (n)
        ebb_warn("cluster: its console ended with:\n%s", buf);
}

static ip4_t node_ip(unsigned k) { return CLUSTER_IP + k + 1; }

static void member_addr(unsigned k, char *buf)
{
    char ip[16];
    sprintf(buf, "%s:%u", ip4_format(node_ip(k), ip), CLUSTER_PORT);
}

/* Node k is dead or freed: its calls fail, here and on the other nodes, and it leaves. */
static void node_gone(unsigned k)
{
    ebb_messenger_node_down(k, EBB_ENODEDOWN);
    ebb_future_drop(globalidmap_leave(EBB_ID_GLOBALIDMAP, k));
    for (unsigned j = 1; j < MAX_NODES; j++)
        if (j != k && nodes[j].pid && nodes[j].up && !nodes[j].freed)
            ebb_future_drop(messenger_node_down_at(j, EBB_ID_MESSENGER, k));
}

static void node_exited(void *arg, uint32_t events)
{
    (void)events;
    unsigned k = (unsigned)(uintptr_t)arg;
    struct node *n = &nodes[k];
    int st = 0;
    if (waitpid(n->pid, &st, WNOHANG) == 0)
        return; /* not yet */
    if (!n->freed) {
        if (WIFSIGNALED(st))
            ebb_warn("cluster: node %u (QEMU %d) was killed by signal %d", k, (int)n->pid, WTERMSIG(st));
        else
            ebb_warn("cluster: node %u (QEMU %d) exited with status %d", k, (int)n->pid, WEXITSTATUS(st));
        if (!n->up || (WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 1))
            print_log_tail(n->log);
    }
    if (!n->up) {
        n->up = true; /* the promise is settled once */
        ebb_promise_fail(n->p, EBB_ENODEDOWN);
    }
    if (!n->freed)
        node_gone(k);
    node_release(k);
}

struct joining {
    unsigned k;
    ebb_promise_t p;
};

/* The allocation resolves once the node is a member. */
static void node_join(void *arg)
{
    struct joining *j = arg;
    char addr[32];
    member_addr(j->k, addr);
    int err = ebb_future_block(globalidmap_join(EBB_ID_GLOBALIDMAP, j->k, addr), NULL);
    if (err)
        ebb_warn("cluster: node %u could not join the GlobalIdMap: %s", j->k, strerror(err));
    ebb_promise_set(j->p, j->k);
    free(j);
}

static void node_up(unsigned k)
{
    if (k == front || k >= MAX_NODES || !nodes[k].pid || nodes[k].up)
        return;
    struct joining *j = malloc(sizeof *j);
    nodes[k].up = true;
    ebb_timer_cancel(&nodes[k].boot);
    if (!j) {
        ebb_promise_set(nodes[k].p, k);
        return;
    }
    *j = (struct joining){ k, nodes[k].p };
    ebb_spawn(node_join, j); /* the join may block; this runs inside the Messenger */
}

static void boot_timed_out(void *arg)
{
    unsigned k = (unsigned)(uintptr_t)arg;
    struct node *n = &nodes[k];
    if (n->up || !n->pid)
        return;
    ebb_warn("cluster: node %u did not come up in time (node_boot_timeout_ms)", k);
    print_log_tail(n->log);
    n->up = true;
    n->freed = true;
    ebb_promise_fail(n->p, ETIMEDOUT);
    node_gone(k);
    kill(n->pid, SIGKILL); /* its pidfd event releases the slot */
}

/* kvm only where the CPU has hardware virtualization and /dev/kvm opens (as scripts/qemu-run). */
static const char *pick_accel(void)
{
    const char *a = ebb_config_get("accel");
    if (a)
        return a;
    FILE *f = fopen("/proc/cpuinfo", "re");
    bool hw = false;
    char line[4096];
    while (f && !hw && fgets(line, sizeof line, f))
        hw = !strncmp(line, "flags", 5) && (strstr(line, " vmx") || strstr(line, " svm"));
    if (f)
        fclose(f);
    int fd = hw ? open("/dev/kvm", O_RDWR | O_CLOEXEC) : -1;
    if (fd >= 0)
        close(fd);
    return fd >= 0 ? "kvm" : "tcg";
}

/* Starts node k's QEMU (on numa's host nodes if it is on): 0, or -errno if it could not be
 * started (then no QEMU runs). */
static int spawn_node(unsigned k, const struct node_options *opt, const struct host_numa *numa)
{
    struct node *n = &nodes[k];
    char ip[16], smp[16], mem[16], cmdline[2048], netdev[PATH_MAX_ + 128], dev[128], fw[PATH_MAX_ + 64];
    unsigned cores = opt->cores ? opt->cores : 1, mb = opt->memory_mb ? opt->memory_mb : 128;
    ip4_format(node_ip(k), ip);
    snprintf(smp, sizeof smp, "%u", cores);
    snprintf(mem, sizeof mem, "%uM", mb);
    int len = snprintf(cmdline, sizeof cmdline,
                       "node=%u ip=%s/%u listen=%u cluster=%s:%u front=%u gidmap_node=%u key_file=%s "
                       "cores=%u log=%s%s%s",
                       k, ip, CLUSTER_PREFIX, CLUSTER_PORT, CLUSTER_NET, CLUSTER_PORT, front, front,
                       KEY_FW_CFG, cores, ebb_config_str("node_log", "warn"), opt->args ? " " : "",
                       opt->args ? opt->args : "");
    if (len < 0 || (size_t)len >= sizeof cmdline)
        return -E2BIG;
    snprintf(netdev, sizeof netdev, "stream,id=n0,server=off,addr.type=unix,addr.path=%s", sockfile);
    snprintf(dev, sizeof dev, "virtio-net-pci,netdev=n0,romfile=,mac=02:eb:00:00:%02x:%02x",
             (k + 1) >> 8 & 0xff, (k + 1) & 0xff);
    snprintf(fw, sizeof fw, "name=%s,file=%s", KEY_FW_CFG, keyfile);
    snprintf(n->pidfile, sizeof n->pidfile, "%s/node-%u.pid", rundir, k);
    snprintf(n->log, sizeof n->log, "%s/node-%u.log", rundir, k);
    bool kvm = !strcmp(pick_accel(), "kvm");
    const char *argv[] = {
        "qemu-system-x86_64", "-M", "pc", "-bios", "/usr/share/qemu/qboot.rom", "-nodefaults",
        "-no-user-config", "-display", "none", "-no-reboot", "-accel",
        kvm ? "kvm" : "tcg,thread=multi", "-cpu", kvm ? "host,-arch-capabilities" : "qemu64,+rdrand",
        "-smp", smp, "-m", mem, "-serial", "stdio", "-monitor", "none",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", opt->image,
        "-append", cmdline, "-netdev", netdev, "-device", dev, "-fw_cfg", fw, NULL,
    };
    /* The child reports on errpipe why it did not get to exec (its errno); EOF: exec'd. */
    int errpipe[2] = { -1, -1 };
    int logfd = open(n->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (logfd < 0 || nullfd < 0 || pipe2(errpipe, O_CLOEXEC) < 0) {
        int err = -errno;
        if (logfd >= 0)
            close(logfd);
        if (nullfd >= 0)
            close(nullfd);
        return err;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls until exec: the parent has other threads. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(nullfd, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        int err = host_numa_apply(numa);
        if (!err) {
            execvp(argv[0], (char *const *)argv);
            err = -errno;
        }
        ssize_t told = write(errpipe[1], &err, sizeof err);
        _exit(told < 0 ? 126 : 127);
    }
    int err = pid < 0 ? -errno : 0;
    close(logfd);
    close(nullfd);
    close(errpipe[1]);
    if (!err) {
        int child_err = 0;
        ssize_t got;
        while ((got = read(errpipe[0], &child_err, sizeof child_err)) < 0 && errno == EINTR)
            ;
        if (got == (ssize_t)sizeof child_err) {
            err = child_err;
            waitpid(pid, NULL, 0);
        }
    }
    close(errpipe[0]);
    if (err)
        return err;
    n->pid = pid;
    n->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    FILE *pf = fopen(n->pidfile, "we");
    if (pf) {
        fprintf(pf, "%d\n", (int)pid);
        fclose(pf);
    }
    if (n->pidfd < 0 || ebb_fd_watch(n->pidfd, EPOLLIN, node_exited, (void *)(uintptr_t)k) < 0) {
        err = n->pidfd < 0 ? -errno : -EIO;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        node_release(k);
        return err;
    }
    return 0;
}

/* ---- the cluster ---- */

/* cluster_uplink[_listen]=A.B.C.D:PORT: the switch linked to other hosts' (docs/cluster.md). */
static int uplink(const char *key, bool listening)
{
    const char *v = ebb_config_get(key), *colon = v ? strrchr(v, ':') : NULL;
    char ip[16];
    if (!v)
        return 0;
    int err = -EINVAL;
    long port = colon ? strtol(colon + 1, NULL, 10) : 0;
    if (colon && colon - v < (long)sizeof ip && port > 0 && port < 65536) {
        memcpy(ip, v, (size_t)(colon - v));
        ip[colon - v] = 0;
        err = eth_switch_uplink(the_alloc.sw, listening, ip, (uint16_t)port);
    }
    if (err)
        ebb_warn("cluster: %s=%s: %s", key, v, err == -EINVAL ? "expected A.B.C.D:PORT" : strerror(-err));
    return err;
}

static int cluster_start(struct alloc *a)
{
    front = (unsigned)ebb_config_int("node", 0, 0, MAX_NODES - 2);
    int err = make_rundir();
    if (err) {
        ebb_warn("cluster: cannot make the run directory: %s", strerror(-err));
        return err;
    }
    atexit(cleanup);
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    /* A fresh key, unless front ends on several hosts share one (key_file=). */
    uint8_t key[EBB_MSG_KEY_MAX];
    int klen = KEY_LEN;
    const char *kf = ebb_config_get("key_file");
    if (kf && (klen = platform_read_key(kf, key, sizeof key)) < EBB_MSG_KEY_MIN) {
        ebb_warn("cluster: key_file=%s: %s", kf, klen == -EPERM ? "other users can read it: chmod 600 it"
                 : klen < 0 ? "cannot read it" : "a cluster key is 16 to 256 bytes");
        return klen < 0 ? klen : -EINVAL;
    }
    if (!kf)
        ebb_random(key, KEY_LEN);
    int fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, key, (size_t)klen) != (ssize_t)klen) {
        err = -errno;
        if (fd >= 0)
            close(fd);
        ebb_warn("cluster: %s: %s", keyfile, strerror(-err));
        return err;
    }
    close(fd);
    ebb_msg_set_key(key, (size_t)klen);
    memset(key, 0, sizeof key);

    const uint8_t mac[6] = { 0x02, 0xeb, 0, 0, (uint8_t)((front + 1) >> 8), (uint8_t)(front + 1) };
    ebb_id_t id;
    a->sw = eth_switch_new(sockfile, mac, &id, &err);
    if (!a->sw) {
        ebb_warn("cluster: the switch on %s: %s", sockfile, strerror(-err));
        return err;
    }
    struct net_stack_config cfg = { .ip = node_ip(front), .prefix = CLUSTER_PREFIX, .home_core = ebb_core() };
    struct net_stack *s = net_stack_new(id, &cfg);
    uint64_t v;
    if (!s || (err = ebb_future_block(net_stack_up(s), &v)) != 0)
        return -(err ? err : ENOMEM);
    if (net_image_use((struct net *)(uintptr_t)v) < 0) {
        ebb_warn("cluster: this image's network was in use before its first node: allocate "
                 "nodes before other use of the network or the Messenger");
        return -EBUSY;
    }
    ebb_set_node(front);
    ebb_messenger_on_node_up(node_up);
    ebb_msg_transport_cluster(CLUSTER_NET, CLUSTER_PORT);
    err = ebb_messenger_listen("127.0.0.1", CLUSTER_PORT);
    if (err) {
        ebb_warn("cluster: the Messenger cannot listen on the switch (%s): the front end's "
                 "Messenger must live on the core that allocates", strerror(-err));
        return err;
    }
    if ((err = uplink("cluster_uplink_listen", true)) != 0 || (err = uplink("cluster_uplink", false)) != 0)
        return err;
    char addr[32];
    member_addr(front, addr);
    err = ebb_future_block(globalidmap_join(EBB_ID_GLOBALIDMAP, front, addr), NULL);
    if (err)
        ebb_warn("cluster: the front end could not join the GlobalIdMap: %s", strerror(err));
    a->started = true;
    a->core = ebb_core();
    return 0;
}

struct alloc_req {
    struct node_options opt;
    char image[PATH_MAX_], args[1024];
    struct host_numa numa;
    ebb_promise_t p;
};

static void do_allocate(void *arg)
{
    struct alloc_req *r = arg;
    struct alloc *a = &the_alloc;
    int err = 0;
    if (!a->started && (err = cluster_start(a)) != 0) {
        ebb_promise_fail(r->p, -err);
        free(r);
        return;
    }
    unsigned k = front + 1;
    while (k < MAX_NODES && nodes[k].pid)
        k++;
    if (k == MAX_NODES) {
        ebb_promise_fail(r->p, ENOSPC);
        free(r);
        return;
    }
    struct node *n = &nodes[k];
    n->up = n->freed = false;
    n->pidfd = -1;
    n->p = r->p;
    char ip[16];
    ip4_format(node_ip(k), ip);
    err = ebb_msg_transport_peer(k, ip, CLUSTER_PORT);
    /* Nodes told an earlier node k was gone learn where the new one is. */
    for (unsigned j = 1; !err && j < MAX_NODES; j++)
        if (j != k && nodes[j].pid && nodes[j].up && !nodes[j].freed)
            ebb_future_drop(messenger_peer_at(j, EBB_ID_MESSENGER, k, ip, CLUSTER_PORT));
    if (!err)
        err = spawn_node(k, &r->opt, &r->numa);
    if (err) {
        ebb_warn("cluster: cannot start QEMU for node %u: %s", k, strerror(-err));
        ebb_promise_fail(r->p, -err);
    } else {
        long ms = ebb_config_int("node_boot_timeout_ms", 120000, 1, 3600000);
        ebb_timer_start(&n->boot, (uint64_t)ms * 1000000ull, boot_timed_out, (void *)(uintptr_t)k);
    }
    free(r);
}

static void run_on(unsigned core, ebb_fn fn, void *arg)
{
    if (ebb_core() == core)
        fn(arg);
    else
        ebb_spawn_on(core, fn, arg);
}

/* An image named without a '/' is the app's native image built beside this program:
 * build/hosted/x -> build/native/NAME.elf. */
static int image_path(const char *image, char *buf, size_t n)
{
    if (strchr(image, '/'))
        return snprintf(buf, n, "%s", image) < (int)n ? 0 : -1;
    char exe[PATH_MAX_];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (l <= 0)
        return -1;
    exe[l] = 0;
    char *slash = strrchr(exe, '/');
    *slash = 0;
    return snprintf(buf, n, "%s/../native/%s.elf", exe, image) < (int)n ? 0 : -1;
}

static ebb_future_t na_allocate(void *self, const struct node_options *opt)
{
    struct alloc *a = self;
    struct alloc_req *r = calloc(1, sizeof *r);
    if (!r)
        return ebb_future_failed(ENOMEM);
    if (!opt || !opt->image || image_path(opt->image, r->image, sizeof r->image) < 0 ||
        (opt->args && strlen(opt->args) >= sizeof r->args) || opt->cores > 64) {
        free(r);
        return ebb_future_failed(EINVAL);
    }
    int err;
    if (access(r->image, R_OK) < 0) {
        err = errno;
        ebb_warn("cluster: node image %s: %s (build it: make APP=name PLATFORM=native)",
                 r->image, strerror(err));
        free(r);
        return ebb_future_failed(err);
    }
    char why[160];
    if (opt->numa && (err = host_numa_parse(opt->numa, &r->numa, why, sizeof why)) != 0) {
        ebb_warn("cluster: numa=%s: %s", opt->numa, why);
        free(r);
        return ebb_future_failed(-err);
    }
    r->opt = *opt;
    r->opt.image = r->image;
    r->opt.numa = NULL; /* r->numa holds it */
    if (opt->args) {
        strcpy(r->args, opt->args);
        r->opt.args = r->args;
    }
    ebb_future_t f = ebb_promise_new(&r->p);
    /* The cluster lives on the core of the first allocation. */
    run_on(a->started ? a->core : ebb_core(), do_allocate, r);
    return f;
}

static void do_free(void *arg)
{
    unsigned k = (unsigned)(uintptr_t)arg;
    struct node *n = &nodes[k];
    if (!n->pid || n->freed)
        return;
    n->freed = true;
    if (!n->up) {
        n->up = true;
        ebb_promise_fail(n->p, EBB_ENODEDOWN);
    }
    node_gone(k);
    kill(n->pid, SIGKILL); /* its pidfd event reaps it and releases the slot */
}

static int na_free(void *self, unsigned node)
{
    struct alloc *a = self;
    if (!a->started || node == front || node >= MAX_NODES || !nodes[node].pid)
        return -ENOENT;
    run_on(a->core, do_free, (void *)(uintptr_t)node);
    return 0;
}

static unsigned na_count(void *self)
{
    (void)self;
    unsigned c = 0;
    for (unsigned k = 1; k < MAX_NODES; k++)
        c += nodes[k].pid && !nodes[k].freed;
    return c;
}

static const struct node_allocator na_ops = {
    .allocate = na_allocate, .free = na_free, .count = na_count,
};

static void *na_create(struct ebb_root *root, unsigned core)
{
    (void)root, (void)core;
    the_alloc.ops = &na_ops;
    return &the_alloc;
}

NODE_ALLOCATOR_ROOT(node_allocator_root, na_create);
