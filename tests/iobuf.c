/* IOBuf: memory kinds, headroom, chains, split/trim/clone and cursor reads across buffers. */
#include "core/iobuf.h"
#include "tests/tap.h"

static int released;
static void count_release(void *arg, void *p)
{
    (void)arg;
    released++;
    free(p);
}

/* A chain of `parts` buffers holding bytes 0,1,2,... (mod 251) of total n, split unevenly. */
static struct iobuf *pattern_chain(size_t n, size_t parts)
{
    struct iobuf *c = NULL;
    size_t at = 0;
    for (size_t i = 0; i < parts; i++) {
        size_t k = i + 1 == parts ? n - at : (n / parts) + (i % 3) - 1;
        struct iobuf *b = iobuf_alloc(k + 16, 16);
        uint8_t *p = iobuf_append(b, k);
        for (size_t j = 0; j < k; j++)
            p[j] = (uint8_t)((at + j) % 251);
        at += k;
        c = iobuf_chain_append(c, b);
    }
    return c;
}

static int chain_matches(const struct iobuf *c, size_t first, size_t n)
{
    uint8_t *buf = malloc(n + 1);
    size_t got = iobuf_copy_out(c, 0, buf, n + 1);
    int ok = got == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = buf[i] == (uint8_t)((first + i) % 251);
    free(buf);
    return ok;
}

int main(void)
{
    tap_plan(59);
    tap_deadline(120);
    /* Owned memory with headroom: a header is prepended without copying. */
    struct iobuf *b = iobuf_alloc(128, 54);
    is(iobuf_headroom(b), 54, "alloc leaves the asked headroom");
    is(b->len, 0, "alloc starts empty");
    memcpy(iobuf_append(b, 5), "hello", 5);
    uint8_t *payload = b->data;
    memcpy(iobuf_prepend(b, 4), "HDR:", 4);
    ok(b->data + 4 == payload && memcmp(b->data, "HDR:hello", 9) == 0,
       "prepend writes into headroom in place");
    is(iobuf_tailroom(b), 128 - 50 - 9, "tailroom accounts for view and headroom");
    ok(!iobuf_is_shared(b), "a fresh buffer is not shared");

    /* Shared memory: a clone sees the same bytes and keeps them alive. */
    struct iobuf *c = iobuf_clone_one(b);
    ok(c->data == b->data && c->len == b->len, "clone shares the view");
    ok(iobuf_is_shared(b) && iobuf_is_shared(c), "both views report shared memory");
    iobuf_free(b);
    ok(memcmp(c->data, "HDR:hello", 9) == 0, "clone's bytes survive freeing the original");
    ok(!iobuf_is_shared(c), "last view is no longer shared");
    iobuf_free(c);

    /* Static memory: never freed, never copied. */
    static const char msg[] = "static bytes";
    b = iobuf_wrap_static(msg, sizeof msg - 1);
    ok((const char *)b->data == msg && b->len == 12, "static wrap views the memory itself");
    ok(iobuf_is_shared(b), "static memory counts as shared (not writable)");
    iobuf_free(b);

    /* Taken and released memory. */
    b = iobuf_wrap(malloc(64), 64, 10, count_release, NULL);
    c = iobuf_clone_one(b);
    iobuf_free(b);
    is(released, 0, "release waits for the last view");
    iobuf_free(c);
    is(released, 1, "release runs once when the last view goes");
    b = iobuf_take(malloc(32), 32, 7);
    is(b->len, 7, "take views [0,len)");
    iobuf_free(b);
    ok(iobuf_alloc(10, 11) == NULL, "headroom larger than capacity is refused");
    char tmp[4];
    ok(iobuf_wrap(tmp, 4, 5, NULL, NULL) == NULL, "view larger than memory is refused");

    /* Chains are circular: append, count, length. */
    struct iobuf *ch = pattern_chain(1000, 7);
    is(iobuf_chain_count(ch), 7, "chain of 7 buffers");
    is(iobuf_chain_len(ch), 1000, "chain length is the sum of views");
    ok(ch->prev->next == ch && ch->next->prev == ch, "chain is circular both ways");
    ok(chain_matches(ch, 0, 1000), "copy_out reads the whole chain in order");
    uint8_t mid[300];
    is(iobuf_copy_out(ch, 100, mid, 300), 300, "copy_out from an offset across buffers");
    ok(mid[0] == 100 && mid[299] == (399 % 251), "copy_out bytes are right");
    is(iobuf_copy_out(ch, 900, mid, 300), 100, "copy_out stops at the end");
    is(iobuf_chain_len(NULL), 0, "NULL chain has length 0");

    /* Clone of a whole chain shares memory; coalesce copies into one buffer. */
    struct iobuf *cl = iobuf_clone(ch);
    is(iobuf_chain_count(cl), 7, "chain clone has as many buffers");
    ok(cl->data == ch->data, "chain clone shares memory");
    struct iobuf *one = iobuf_coalesce_copy(ch, 40);
    is(iobuf_chain_count(one), 1, "coalesce gives one buffer");
    is(iobuf_headroom(one), 40, "coalesce leaves headroom");
    ok(chain_matches(one, 0, 1000), "coalesced bytes match");
    iobuf_free(one);

    /* Split in the middle of a buffer: front and rest share the cut buffer's memory. */
    struct iobuf *rest;
    struct iobuf *front = iobuf_chain_split(cl, 333, &rest);
    is(iobuf_chain_len(front), 333, "split front has n bytes");
    is(iobuf_chain_len(rest), 667, "split rest has the remainder");
    ok(chain_matches(front, 0, 333) && chain_matches(rest, 333, 667), "split keeps byte order");
    struct iobuf *none = iobuf_chain_split(rest, 0, &rest);
    ok(none == NULL && iobuf_chain_len(rest) == 667, "split of 0 leaves everything in rest");
    struct iobuf *all = iobuf_chain_split(rest, 5000, &rest);
    ok(rest == NULL && iobuf_chain_len(all) == 667, "split past the end takes the whole chain");
    iobuf_free(front);
    iobuf_free(all);

    /* Trim front and back, across buffer boundaries. */
    ch = iobuf_chain_trim_front(ch, 250);
    is(iobuf_chain_len(ch), 750, "trim_front drops n bytes");
    ok(chain_matches(ch, 250, 750), "trim_front keeps the right bytes");
    ok(iobuf_chain_count(ch) < 7, "trim_front freed emptied buffers");
    ch = iobuf_chain_trim_back(ch, 300);
    is(iobuf_chain_len(ch), 450, "trim_back drops n bytes");
    ok(chain_matches(ch, 250, 450), "trim_back keeps the right bytes");
    ch = iobuf_chain_trim_front(ch, 0);
    is(iobuf_chain_len(ch), 450, "trim of 0 is a no-op");
    ok(iobuf_chain_trim_front(ch, 450) == NULL, "trimming everything returns NULL");
    ch = pattern_chain(100, 3);
    ok(iobuf_chain_trim_back(ch, 1000) == NULL, "trim_back past the end returns NULL");

    /* pop_front and copy_in. */
    ch = pattern_chain(90, 3);
    struct iobuf *head = iobuf_chain_pop_front(ch, &rest);
    ok(head->next == head && iobuf_chain_count(rest) == 2, "pop_front unlinks the head");
    iobuf_free(head);
    is(iobuf_copy_in(rest, 20, "XYZW", 4), 4, "copy_in across buffers");
    uint8_t four[4];
    iobuf_copy_out(rest, 20, four, 4);
    ok(memcmp(four, "XYZW", 4) == 0, "copy_in bytes land");
    iobuf_free(rest);

    /* Cursor reads straddling buffers, in both byte orders. */
    struct iobuf *x = iobuf_alloc(8, 0), *y = iobuf_alloc(8, 0), *z = iobuf_alloc(8, 0);
    memcpy(iobuf_append(x, 3), "\x12\x34\x56", 3);
    memcpy(iobuf_append(z, 6), "\x78\x9a\xbc\xde\xf0\x11", 6);
    ch = iobuf_chain_append(iobuf_chain_append(x, y), z); /* y is empty */
    struct iobuf_cursor cur;
    iobuf_cursor_init(&cur, ch);
    is(iobuf_cursor_remaining(&cur), 9, "cursor sees all bytes");
    is(iobuf_cursor_u8(&cur), 0x12, "u8");
    is(iobuf_cursor_be32(&cur), 0x3456789a, "be32 across two buffers and an empty one");
    is(iobuf_cursor_le16(&cur), 0xdebc, "le16");
    ok(iobuf_cursor_ptr(&cur, 2) != NULL && iobuf_cursor_ptr(&cur, 3) == NULL,
       "cursor_ptr only for contiguous bytes");
    is(iobuf_cursor_be16(&cur), 0xf011, "be16 at the end");
    ok(!cur.overrun && iobuf_cursor_remaining(&cur) == 0, "exactly consumed, no overrun");
    is(iobuf_cursor_be32(&cur), 0, "read past the end yields zeros");
    ok(cur.overrun, "read past the end sets overrun");
    iobuf_cursor_init(&cur, ch);
    ok(iobuf_cursor_skip(&cur, 4) && iobuf_cursor_u8(&cur) == 0x9a, "skip across buffers");
    ok(!iobuf_cursor_skip(&cur, 10) && cur.overrun, "skip past the end sets overrun");
    iobuf_cursor_init(&cur, ch);
    ok(iobuf_cursor_le32(&cur) == 0x78563412 && iobuf_cursor_le32(&cur) == 0xf0debc9a,
       "le32 straddling");
    iobuf_cursor_init(&cur, ch);
    iobuf_cursor_skip(&cur, 1);
    uint64_t v = iobuf_cursor_le64(&cur);
    ok(v == 0x11f0debc9a785634ull && !cur.overrun, "le64 straddling");
    iobuf_free(ch);

    /* Many small reads over a long fragmented chain agree with copy_out. */
    ch = pattern_chain(10000, 97);
    iobuf_cursor_init(&cur, ch);
    int good = 1;
    for (size_t i = 0; i < 10000; i++)
        good &= iobuf_cursor_u8(&cur) == (uint8_t)(i % 251);
    iobuf_free(ch);
    iobuf_free(NULL); /* a no-op: reaching the last assertion and tap_done() shows it */
    ok(good && !cur.overrun, "byte-by-byte cursor over 97 buffers");
    return tap_done();
}
