/* ebbgen: manifests, the lines an image's static binding table is made from. */
#include "ebbgen.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool c_ident(const char *s)
{
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return false;
    for (size_t i = 1; s[i]; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '_'))
            return false;
    }
    return true;
}

static bool c_number(const char *s)
{
    if (!s[0])
        return false;
    for (size_t i = 0; s[i]; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Splits a manifest line into up to 4 words (with their columns); -1: too many words. */
static int words(char *line, char **w, unsigned *col, const char *file, unsigned ln)
{
    int n = 0;
    char *p = line;
    while (*p && n < 4) {
        while (blank(*p))
            p++;
        if (!*p || *p == '#')
            break;
        col[n] = (unsigned)(p - line) + 1;
        w[n++] = p;
        while (*p && !blank(*p))
            p++;
        if (*p)
            *p++ = 0;
    }
    while (blank(*p))
        p++;
    if (*p && *p != '#') {
        error_at(file, ln, (unsigned)(p - line) + 1, "too many words");
        return -1;
    }
    return n;
}

static void manifest_include(struct manifest *mf, char **w, int n, const char *file,
                             unsigned ln, unsigned *col)
{
    size_t l = n == 2 ? strlen(w[1]) : 0;
    bool quoted = l >= 3 && ((w[1][0] == '"' && w[1][l - 1] == '"')
                             || (w[1][0] == '<' && w[1][l - 1] == '>'));
    if (!quoted || !ident_ok(w[1]))
        error_at(file, ln, col[0], "expected: include \"header.h\"");
    else if (!strs_has(&mf->incs, w[1]))
        strs_add(&mf->incs, w[1]);
}

static void manifest_bind(struct manifest *mf, char **w, int n, const char *file, unsigned ln,
                          unsigned *col)
{
    if (n != 3 && n != 4) {
        error_at(file, ln, col[0], "expected: bind ID ROOT [hosted|native]");
        return;
    }
    if (n == 4 && strcmp(w[3], "hosted") && strcmp(w[3], "native")) {
        error_at(file, ln, col[3], "'%s' is not a platform (hosted or native)", w[3]);
        return;
    }
    if (!(c_ident(w[1]) || c_number(w[1])) || !ident_ok(w[1])) {
        error_at(file, ln, col[1], "'%s' is not an id (a C identifier or a number)", w[1]);
        return;
    }
    if (!c_ident(w[2]) || !ident_ok(w[2])) {
        error_at(file, ln, col[2], "'%s' is not a root (the name of a struct ebb_root)", w[2]);
        return;
    }
    int i = 0;
    while (i < mf->nb && strcmp(mf->b[i].id, w[1]))
        i++;
    if (i < mf->nb && mf->b[i].file == file) {
        error_at(file, ln, col[1], "id %s is bound twice (first at line %u)", w[1],
                 mf->b[i].line);
        return;
    }
    if (i == mf->nb) {
        mf->b = xrealloc(mf->b, sizeof *mf->b * (size_t)(mf->nb + 1));
        mf->nb++;
    }
    const char *only = n < 4 ? "" : !strcmp(w[3], "hosted") ? "EBB_HOSTED" : "EBB_NATIVE";
    mf->b[i] = (struct binding){ xstrdup(w[1]), xstrdup(w[2]), only, file, ln };
}

void read_manifest(const char *file, struct manifest *mf)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        error_at(file, 1, 1, "cannot open manifest: %s", strerror(errno));
        return;
    }
    char line[1024];
    unsigned ln = 0;
    while (fgets(line, sizeof line, f)) {
        char *w[4];
        unsigned col[4];
        int n = words(line, w, col, file, ++ln);
        if (n <= 0)
            continue;
        if (!strcmp(w[0], "include"))
            manifest_include(mf, w, n, file, ln, col);
        else if (!strcmp(w[0], "bind"))
            manifest_bind(mf, w, n, file, ln, col);
        else
            error_at(file, ln, col[0], "unknown directive '%s' (expected include or bind)", w[0]);
    }
    fclose(f);
}

