/* ebbgen's parts (gen/ebbgen.c: the command line, templates and outputs; gen/parse.c: reading
 * interfaces with libclang; gen/manifest.c: manifests; gen/util.c: small helpers). */
#pragma once
#include <clang-c/Index.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- small helpers (util.c) ---- */

extern int nerrors;
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
/* file:line:col: error: ..., counted in nerrors. */
void error_at(const char *file, unsigned line, unsigned col, const char *f, ...)
    __attribute__((format(printf, 4, 5)));

/* A growing string. */
struct buf {
    char *s;
    size_t n, cap;
};
void bput(struct buf *b, const char *s, size_t n);
void bputs(struct buf *b, const char *s);
void bprintf(struct buf *b, const char *f, ...) __attribute__((format(printf, 2, 3)));

/* A list of strings. */
struct strs {
    char **v;
    int n;
};
void strs_add(struct strs *l, const char *s);
bool strs_has(const struct strs *l, const char *s);

/* Text handed to m4 must not contain its quotes, '$' or names of template macros. */
bool ident_ok(const char *s);
char *upper(const char *s);

/* ---- the model (parse.c) ---- */

enum pkind { P_ANY, P_VAL, P_BOOL, P_IN, P_OUT, P_INOUT, P_STR };
extern const char *const pkind_name[];

struct param {
    char *name, *type;      /* type as written (qualifiers dropped for values) */
    char *decl;             /* its declaration in generated code */
    enum pkind kind;
    char *len;              /* in/out/inout: the parameter holding the element count */
    char *esize;            /* in/out/inout: element size expression */
    struct strs fields;     /* a value struct with padding: its fields, sent one by one */
    const char *file;
    unsigned line, col;
    bool integer;           /* may serve as a length */
};

struct method {
    char *name, *ret;
    bool is_void, is_future, remote; /* is_future: returns ebb_future_t, served asynchronously */
    const char *file;
    unsigned line, col;
    struct param *p;        /* p[0] is self */
    int np;
};

struct iface {
    char *name, *kind;
    const char *file;
    unsigned line, col;
    struct method *m;
    int nm;
    uint64_t hash;
};

extern struct iface *ifaces;
extern int nifaces;


/* A libclang string as our own (the CXString is disposed of). */
char *str_of(CXString s);
/* Reads the interfaces of a parsed file into ifaces, checked, with their hashes; the number of
 * errors (reported). */
int read_interfaces(CXTranslationUnit tu);

/* ---- manifests (manifest.c) ---- */

struct binding {
    char *id, *root;
    const char *only, *file;
    unsigned line;
};

struct manifest {
    struct binding *b;
    int nb;
    struct strs incs;
};

/* Adds a manifest's lines: `include "path.h"`, `bind ID ROOT [hosted|native]`, blank, or
 * # comments; a later file's binding of an id replaces an earlier one's. */
void read_manifest(const char *file, struct manifest *mf);
