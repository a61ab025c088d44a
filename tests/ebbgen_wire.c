/* What generated stubs put on the wire, caught by a Messenger of the test's own (bound to
 * EBB_ID_MESSENGER) and fed to the generated server: a struct with padding goes field by field,
 * so no padding byte (here 0xAA, the caller's garbage) leaves the caller; tests/ebbgen_wire.t
 * runs this under valgrind, which sees the payload written to /dev/null. Also the byte
 * reader/writer's sticky overrun (core/bytes.h), a non-const EBB_STRING and a local method with
 * an array parameter (tests/gen/tricky.ebb.h). */
#include "core/bytes.h"
#include "core/ebb.h"
#include "core/event.h"
#include "core/messenger.h"
#include "tap.h"
#include "tests/gen/tricky.gen.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* ---- a Messenger that keeps the last call ---- */

static struct iobuf *sent;
static unsigned sent_method;

static ebb_future_t fake_call(void *self, unsigned node, ebb_id_t id, uint64_t iface,
                              unsigned method, struct iobuf *args, ebb_msg_unpack_fn unpack,
                              void *arg)
{
    (void)self, (void)node, (void)id, (void)iface, (void)unpack, (void)arg;
    iobuf_free(sent);
    sent = args;
    sent_method = method;
    return ebb_future_failed(ENOTCONN);
}
static const struct messenger fake_ops = { .call = fake_call };
static struct { const struct messenger *ops; } fake_rep = { &fake_ops };
static void *fake_create(struct ebb_root *root, unsigned core)
{
    (void)root, (void)core;
    return &fake_rep;
}
static MESSENGER_ROOT(fake_messenger, fake_create);

/* ---- the rep of struct tricky ---- */

static struct padded got;
static uint64_t sum(void *self, struct padded p)
{
    (void)self;
    got = p;
    return p.a + p.b + p.in[0].c + p.in[0].d + p.in[1].c + p.in[1].d + (uint64_t)p.tag[2];
}
static int len(void *self, char *s)
{
    (void)self;
    s[0] = 'H'; /* the string is the callee's to write */
    return (int)strlen(s);
}
static int first(void *self, int m[static 2]) { (void)self; return m[0] + m[1]; }
static const struct tricky tricky_ops = { .sum = sum, .len = len, .first = first };
static struct { const struct tricky *ops; } the_tricky = { &tricky_ops };
static void *tricky_create(struct ebb_root *root, unsigned core)
{
    (void)root, (void)core;
    return &the_tricky;
}
static TRICKY_ROOT(tricky_root, tricky_create);

/* Serves the last call sent; returns the result or -errno. */
static long long serve_sent(ebb_id_t id)
{
    struct iobuf *reply = NULL;
    int r = tricky_dispatch(id, sent_method, sent->data, sent->len, &reply);
    if (r < 0)
        return r;
    uint64_t v;
    memcpy(&v, reply->data, 8);
    iobuf_free(reply);
    return (long long)v;
}

static void padded_struct(ebb_id_t id)
{
    struct padded p;
    memset(&p, 0xAA, sizeof p); /* what the caller's stack held */
    p.a = 1;
    p.b = 2;
    p.in[0].c = 3;
    p.in[0].d = 4;
    p.in[1].c = 5;
    p.in[1].d = 6;
    memcpy(p.tag, "xyz", 3);
    ebb_future_drop(tricky_sum_at(0, id, p));
    ok(sent != NULL, "the stub sent a call");
    size_t want = 1 + 8 + 2 * (2 + 4) + 3;
    is(sent->len, want, "the payload is the fields' bytes only (%zu, not sizeof %zu)", want,
       sizeof p);
    ok(!memchr(sent->data, 0xAA, sent->len), "no padding byte of the caller is in the payload");
    is(serve_sent(id), 1 + 2 + 3 + 4 + 5 + 6 + 'z', "the server gets every field");
    ok(got.a == 1 && got.b == 2 && got.in[1].d == 6 && !memcmp(got.tag, "xyz", 3),
       "the rep sees the struct as the caller built it");

    /* Padding never written at all: valgrind checks every byte handed to a system call. */
    struct padded u;
    u.a = 7, u.b = 8, u.in[0].c = 9, u.in[0].d = 10, u.in[1].c = 11, u.in[1].d = 12;
    u.tag[0] = u.tag[1] = u.tag[2] = 'q';
    ebb_future_drop(tricky_sum_at(0, id, u));
    int fd = open("/dev/null", O_WRONLY);
    ok(fd >= 0 && write(fd, sent->data, sent->len) == (ssize_t)sent->len,
       "a payload made from a struct with uninitialised padding is written out (valgrind: no "
       "uninitialised byte)");
    close(fd);
}

static void strings_and_arrays(ebb_id_t id)
{
    char s[] = "hello";
    ebb_future_drop(tricky_len_at(0, id, s));
    is(serve_sent(id), 5, "a non-const EBB_STRING reaches the rep, which may write it");
    int m[2] = { 20, 22 };
    is(tricky_first(id, m), 42, "a local method with an int m[static 2] parameter is called");
    sent->len = 3; /* a length that promises more than follows */
    is(serve_sent(id), -EBADMSG, "a truncated string is rejected with EBADMSG");
}

static void reader_writer(void)
{
    uint8_t buf[8];
    struct ebb_writer w;
    ebb_writer_init(&w, buf, sizeof buf);
    ebb_put_u32(&w, 0x01020304);
    ebb_put_be16(&w, 0x0506);
    ok(!w.overrun && ebb_writer_len(&w) == 6 && buf[0] == 4 && buf[4] == 5,
       "writer: little- and big-endian integers in place");
    ebb_put_u32(&w, 7);
    ebb_put_u8(&w, 8);
    ok(w.overrun && ebb_writer_len(&w) == 6, "writer: a put past the end overruns and writes "
       "nothing, and the flag sticks");
    struct ebb_reader r;
    ebb_reader_init(&r, buf, 6);
    uint32_t a = ebb_get_u32(&r);
    uint16_t b = ebb_get_be16(&r);
    ok(a == 0x01020304 && b == 0x0506 && ebb_reader_done(&r), "reader: reads back what was put");
    ok(ebb_get_u8(&r) == 0 && r.overrun && !ebb_reader_done(&r),
       "reader: a get past the end yields 0 and overruns");
    ebb_reader_init(&r, buf, 6);
    r.overrun = true;
    ok(ebb_get_u32(&r) == 0 && ebb_get_span(&r, 0) == NULL, "reader: the overrun sticks");
}

/* A stub whose output-buffer record could not be allocated passes a NULL arg with its unpacker:
 * the call fails with ENOMEM, the unpacker sees that error once (to free nothing), nothing is
 * sent. */
static int unpack_calls, unpack_err;
static int count_unpack(void *arg, int err, const uint8_t *p, size_t n, uint64_t *v)
{
    (void)arg, (void)p, (void)n, (void)v;
    unpack_calls++;
    unpack_err = err;
    return err;
}
static void outs_lost(ebb_id_t id)
{
    iobuf_free(sent);
    sent = NULL;
    struct ebb_writer w;
    ebb_msg_writer(&w);
    ebb_put_u32(&w, 1);
    ebb_future_t f = ebb_msg_call(0, id, TRICKY_IFACE, TRICKY_METHOD_SUM, &w, count_unpack, NULL);
    int err = ebb_future_block(f, NULL);
    ok(err == ENOMEM && unpack_calls == 1 && unpack_err == ENOMEM && !sent,
       "a call whose output record was not allocated fails with ENOMEM, unpacker told once, "
       "nothing sent (err %d, %d calls)", err, unpack_calls);
}

static void tests(void *arg)
{
    (void)arg;
    tap_plan(15);
    ebb_bind(EBB_ID_MESSENGER, &fake_messenger);
    ebb_id_t id = ebb_id_alloc();
    ebb_bind(id, &tricky_root);
    padded_struct(id);
    strings_and_arrays(id);
    reader_writer();
    outs_lost(id);
    iobuf_free(sent);
    ebb_exit(tap_done());
}

void app_main(void) { ebb_spawn(tests, NULL); }

int main(int argc, char **argv)
{
    (void)argc;
    char *args[] = { argv[0], "cores=1", NULL };
    return ebb_run(2, args);
}
