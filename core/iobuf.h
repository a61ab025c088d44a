/* IOBuf: a chain of buffers, each a view (data, len) into memory that is owned (freed with the
 * buffer), shared (reference counted, shared by clones) or static (never freed). Headroom in
 * front of the view lets protocol layers prepend headers without copying. A chain is circular
 * and doubly linked; the head stands for the whole chain. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iobuf_mem;

/* What a network device is to do with a packet, or did with it (net/netif.h says who sets what):
 * the fields and values of the virtio-net header (virtio 1.x, 5.1.6; also Linux's tap with
 * IFF_VNET_HDR), so a driver copies them as they are. Carried by the head of a chain; all zero
 * means "nothing". */
struct iobuf_offload {
    uint8_t flags;        /* IOBUF_CSUM_* */
    uint8_t gso_type;     /* IOBUF_GSO_* */
    uint16_t hdr_len;     /* Ethernet + IP + TCP header bytes of a GSO frame */
    uint16_t gso_size;    /* payload bytes per segment of a GSO frame */
    uint16_t csum_start;  /* CSUM_PARTIAL: checksumming starts here (from the frame's start) */
    uint16_t csum_offset; /* ... and the result goes at csum_start + csum_offset */
};
#define IOBUF_CSUM_PARTIAL 1 /* VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum field holds the
                              * pseudo-header's sum; the rest is to be added */
#define IOBUF_CSUM_VALID 2   /* VIRTIO_NET_HDR_F_DATA_VALID: the device checked the checksums */
#define IOBUF_GSO_NONE 0
#define IOBUF_GSO_TCPV4 1    /* VIRTIO_NET_HDR_GSO_TCPV4: a TCP/IPv4 frame to cut at gso_size */

struct iobuf {
    struct iobuf *next, *prev;
    uint8_t *data;          /* start of the view */
    size_t len;             /* bytes in the view */
    uint8_t *base;          /* start of the memory */
    size_t cap;             /* bytes of memory */
    struct iobuf_mem *mem;  /* NULL: static memory */
    unsigned flags;         /* private to iobuf.c */
    struct iobuf_offload offload; /* meaningful on a chain's head */
};

/* A buffer of `cap` bytes with the view empty at `headroom`. NULL if memory ran out. */
struct iobuf *iobuf_alloc(size_t cap, size_t headroom);
/* A view of static memory (not freed, not copied). */
struct iobuf *iobuf_wrap_static(const void *p, size_t len);
/* Takes ownership of malloc'd memory p[0..cap) with the view [0, len). */
struct iobuf *iobuf_take(void *p, size_t cap, size_t len);
/* A view [0, len) of memory p[0..cap) that release(arg, p) gives back when the last view of it
 * is freed (a driver's receive buffer, a region of a file...). */
struct iobuf *iobuf_wrap(void *p, size_t cap, size_t len, void (*release)(void *arg, void *p),
                         void *arg);
/* True if other views may see b's memory (clones, or static memory): do not write into it. */
bool iobuf_is_shared(const struct iobuf *b);
/* A new buffer sharing b's memory and view (b alone, not its chain). */
struct iobuf *iobuf_clone_one(struct iobuf *b);
/* A new chain sharing the memory of the whole chain. */
struct iobuf *iobuf_clone(struct iobuf *chain);
/* Copies a chain into one new buffer with `headroom` (and the head's offload). */
struct iobuf *iobuf_coalesce_copy(const struct iobuf *chain, size_t headroom);
void iobuf_free(struct iobuf *chain); /* the whole chain; NULL is fine */

static inline size_t iobuf_headroom(const struct iobuf *b) { return (size_t)(b->data - b->base); }
static inline size_t iobuf_tailroom(const struct iobuf *b) { return b->cap - iobuf_headroom(b) - b->len; }
/* Grows the view at the front by n (n <= headroom); returns the new start. */
static inline uint8_t *iobuf_prepend(struct iobuf *b, size_t n) { b->data -= n; b->len += n; return b->data; }
/* Grows the view at the end by n (n <= tailroom); returns where the new bytes go. */
static inline uint8_t *iobuf_append(struct iobuf *b, size_t n) { uint8_t *p = b->data + b->len; b->len += n; return p; }
/* Shrinks the view of this buffer only. */
static inline void iobuf_advance(struct iobuf *b, size_t n) { b->data += n; b->len -= n; }
static inline void iobuf_retreat(struct iobuf *b, size_t n) { b->len -= n; }

size_t iobuf_chain_len(const struct iobuf *chain);         /* total bytes */
size_t iobuf_chain_count(const struct iobuf *chain);       /* buffers */
/* Appends chain b at the end of chain a; returns the head (a, or b if a is NULL). */
struct iobuf *iobuf_chain_append(struct iobuf *a, struct iobuf *b);
/* Unlinks the head of the chain and returns it alone; *rest gets the remaining chain (or NULL). */
struct iobuf *iobuf_chain_pop_front(struct iobuf *chain, struct iobuf **rest);
/* Drops n bytes from the front / back of the chain, freeing the buffers that this empties;
 * returns the new head (NULL if the chain was consumed whole, or n exceeded its length). */
struct iobuf *iobuf_chain_trim_front(struct iobuf *chain, size_t n);
struct iobuf *iobuf_chain_trim_back(struct iobuf *chain, size_t n);
/* Splits off the first n bytes as a new chain (sharing memory where a buffer is cut); *rest is
 * what is left (NULL if nothing). */
struct iobuf *iobuf_chain_split(struct iobuf *chain, size_t n, struct iobuf **rest);
/* Copies bytes [off, off+n) of the chain to dst; returns bytes copied (less at the end). */
size_t iobuf_copy_out(const struct iobuf *chain, size_t off, void *dst, size_t n);
/* Overwrites bytes [off, off+n) of the chain from src; returns bytes copied. */
size_t iobuf_copy_in(struct iobuf *chain, size_t off, const void *src, size_t n);

/* Cursor reads that straddle buffers. A read past the end sets `overrun` and yields zeros, so a
 * parser checks once at the end instead of at every field. */
struct iobuf_cursor {
    const struct iobuf *head, *b;
    size_t off;      /* in b's view */
    bool overrun;
};
void iobuf_cursor_init(struct iobuf_cursor *c, const struct iobuf *chain);
size_t iobuf_cursor_remaining(const struct iobuf_cursor *c);
bool iobuf_cursor_read(struct iobuf_cursor *c, void *dst, size_t n);
bool iobuf_cursor_skip(struct iobuf_cursor *c, size_t n);
/* A pointer to the next n bytes if they are contiguous in one buffer, else NULL (no move). */
const uint8_t *iobuf_cursor_ptr(const struct iobuf_cursor *c, size_t n);
uint8_t iobuf_cursor_u8(struct iobuf_cursor *c);
uint16_t iobuf_cursor_be16(struct iobuf_cursor *c);
uint32_t iobuf_cursor_be32(struct iobuf_cursor *c);
uint16_t iobuf_cursor_le16(struct iobuf_cursor *c);
uint32_t iobuf_cursor_le32(struct iobuf_cursor *c);
uint64_t iobuf_cursor_le64(struct iobuf_cursor *c);
