/* ebbgen's small helpers: allocation that cannot fail, formatting, errors, strings. */
#define _GNU_SOURCE
#include "ebbgen.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nerrors;

static void oom(void)
{
    fprintf(stderr, "ebbgen: out of memory\n");
    exit(2);
}

void *xmalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        oom();
    return p;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        oom();
    return p;
}

static char *vfmt(const char *f, va_list ap) __attribute__((format(printf, 1, 0)));
static char *vfmt(const char *f, va_list ap)
{
    char *s;
    if (vasprintf(&s, f, ap) < 0)
        oom();
    return s;
}

char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = vfmt(f, ap);
    va_end(ap);
    return s;
}

void error_at(const char *file, unsigned line, unsigned col, const char *f, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%u:%u: error: ", file, line, col);
    va_start(ap, f);
    vfprintf(stderr, f, ap);
    va_end(ap);
    fputc('\n', stderr);
    nerrors++;
}

void bput(struct buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

void bputs(struct buf *b, const char *s) { bput(b, s, strlen(s)); }

void bprintf(struct buf *b, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = vfmt(f, ap);
    va_end(ap);
    bputs(b, s);
    free(s);
}

void strs_add(struct strs *l, const char *s)
{
    l->v = xrealloc(l->v, sizeof *l->v * (size_t)(l->n + 1));
    l->v[l->n++] = xstrdup(s);
}

bool strs_has(const struct strs *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s))
            return true;
    return false;
}

bool ident_ok(const char *s)
{
    return !strstr(s, "\xc2\xab") && !strstr(s, "\xc2\xbb") && !strchr(s, '$')
        && !strstr(s, "m4_") && !strstr(s, "EG_");
}

char *upper(const char *s)
{
    char *u = xstrdup(s);
    for (char *p = u; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p -= 32;
    return u;
}
