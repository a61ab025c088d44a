/* ebbgen: reads Ebb interfaces (annotated C structs in x.ebb.h) with libclang and writes their
 * glue through the m4 templates in gen/; also turns image manifests into static binding tables.
 * See docs/ebbgen.md. The C side finds and checks facts; the templates decide what C to write. */
#define _GNU_SOURCE
#include "ebbgen.h"
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Where the framework is when ebbgen runs from the tree it was built in (set by gen/module.mk);
 * an installed ebbgen finds PREFIX/share/ebbrt and PREFIX/include/ebbrt next to its bin/. */
#ifndef EBBGEN_TREE
#define EBBGEN_TREE "."
#endif
#ifndef EBBGEN_TREE_GEN
#define EBBGEN_TREE_GEN EBBGEN_TREE "/build/gen"
#endif

static const char *usage =
    "usage: ebbgen [options] x.ebb.h            glue for the interfaces in x.ebb.h\n"
    "       ebbgen [options] --manifest m1 [m2]  static binding table (later files override)\n"
    "       ebbgen [options] --defaults m1 [m2]  the same, as the library's default table\n"
    "options:\n"
    "  -o DIR          write outputs into DIR (default .): x.gen.h and x.gen.c, or\n"
    "                  bindings.gen.c for manifests\n"
    "  -MD             also write a make depfile (default: DIR/x.gen.d)\n"
    "  -MF FILE        the depfile's name\n"
    "  -I DIR, -D X, -U X, -isystem DIR, -include FILE, -std=S\n"
    "                  passed to clang when parsing (the framework's own include folders\n"
    "                  are searched after these); -pthread, -W*, -f*, -m*, -O*, -g* are\n"
    "                  accepted and ignored, so `pkg-config --cflags` output can be passed\n"
    "  --include-as P  how the generated header includes x.ebb.h (default: the path given)\n"
    "  --templates DIR the m4 templates\n"
    "  --help          this text\n";

/* ---- m4 ---- */

static const char *tdir;

/* Runs m4 -P lib.m4 data template; returns its output or NULL. */
static char *run_m4(const char *data, const char *tmpl)
{
    int fd[2];
    if (pipe(fd) < 0) {
        perror("ebbgen: pipe");
        return NULL;
    }
    char *lib = fmt("%s/lib.m4", tdir), *t = fmt("%s/%s", tdir, tmpl);
    pid_t pid = fork();
    if (pid < 0) {
        perror("ebbgen: fork");
        return NULL;
    }
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        alarm(30); /* a template that loops must not hang the build */
        execlp("m4", "m4", "-P", lib, data, t, (char *)NULL);
        perror("ebbgen: m4");
        _exit(127);
    }
    close(fd[1]);
    struct buf b = { 0 };
    char tmp[8192];
    ssize_t n;
    while ((n = read(fd[0], tmp, sizeof tmp)) > 0)
        bput(&b, tmp, (size_t)n);
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "ebbgen: m4 failed on template %s\n", t);
        free(b.s);
        return NULL;
    }
    if (!b.s)
        bputs(&b, "");
    return b.s;
}

/* Fills in `#line @` (back to the generated file, by the path it is written to) and checks that
 * no template name leaked out. */
static char *finish(const char *text, const char *outname, const char *tmpl)
{
    struct buf b = { 0 };
    unsigned line = 1;
    for (const char *p = text; *p; line++) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p + 1) : strlen(p);
        if (n >= 8 && !strncmp(p, "#line @\n", 8))
            bprintf(&b, "#line %u \"%s\"\n", line + 1, outname);
        else
            bput(&b, p, n);
        p += n;
    }
    if (!b.s)
        bputs(&b, "");
    if (strstr(b.s, "EG_") || strstr(b.s, "m4_") || strstr(b.s, "\xc2\xab")) {
        fprintf(stderr, "ebbgen: internal error: template %s left macro text in %s\n", tmpl,
                outname);
        return NULL;
    }
    return b.s;
}

/* ---- outputs: written to temporaries, renamed only when everything succeeded ---- */

struct out {
    char *path, *tmp, *text;
};
static struct out outs[4];
static int nouts;

static void discard_outputs(void)
{
    for (int i = 0; i < nouts; i++) {
        if (outs[i].tmp)
            unlink(outs[i].tmp);
        unlink(outs[i].path); /* no stale output survives a failed run */
    }
}

static int commit_outputs(void)
{
    for (int i = 0; i < nouts; i++) {
        outs[i].tmp = fmt("%s.tmp%d", outs[i].path, (int)getpid());
        FILE *f = fopen(outs[i].tmp, "w");
        if (!f || fputs(outs[i].text, f) < 0 || fclose(f) != 0) {
            fprintf(stderr, "ebbgen: cannot write %s: %s\n", outs[i].tmp, strerror(errno));
            discard_outputs();
            return -1;
        }
    }
    for (int i = 0; i < nouts; i++) {
        if (rename(outs[i].tmp, outs[i].path) < 0) {
            fprintf(stderr, "ebbgen: cannot rename to %s: %s\n", outs[i].path, strerror(errno));
            discard_outputs();
            return -1;
        }
    }
    return 0;
}

static int mkdirs(const char *dir)
{
    char *d = xstrdup(dir);
    for (char *p = d + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(d, 0777);
            *p = '/';
        }
    }
    if (mkdir(d, 0777) < 0 && errno != EEXIST) {
        fprintf(stderr, "ebbgen: cannot create %s: %s\n", d, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- data handed to the templates ---- */

static void q(struct buf *b, const char *s)
{
    bputs(b, "\xc2\xab");
    bputs(b, s);
    bputs(b, "\xc2\xbb");
}

/* An m4 macro call: name(«arg», «arg», ...), each argument quoted. */
static void call(struct buf *b, const char *name, int n, const char **args)
{
    bprintf(b, "%s(", name);
    for (int i = 0; i < n; i++) {
        if (i)
            bputs(b, ", ");
        q(b, args[i]);
    }
    bputs(b, ")");
}

static void param_data(struct buf *b, const struct param *p)
{
    struct buf fields = { 0 };
    bputs(&fields, "");
    for (int i = 0; i < p->fields.n; i++) {
        bputs(&fields, "EG_F(");
        q(&fields, p->fields.v[i]);
        bputs(&fields, ")");
    }
    const char *a[] = { p->type, p->name, pkind_name[p->kind], p->len ? p->len : "",
                        p->esize ? p->esize : "", p->decl, fields.s };
    call(b, "EG_P", 7, a);
}

static void method_data(struct buf *b, const struct method *m, int index)
{
    bool has_outs = false;
    struct buf params = { 0 };
    bputs(&params, "");
    for (int k = 1; k < m->np; k++) {
        has_outs |= m->p[k].kind == P_OUT || m->p[k].kind == P_INOUT;
        param_data(&params, &m->p[k]);
    }
    /* A return type such as int (*)(int) cannot be written before the name either. */
    const char *a[] = { m->name, upper(m->name), fmt("%d", index),
                        strpbrk(m->ret, "([") ? fmt("__typeof__(%s)", m->ret) : m->ret,
                        m->is_void ? "1" : m->is_future ? "f" : "0", m->remote ? "1" : "0",
                        fmt("%u", m->line), params.s, has_outs ? "1" : "0" };
    call(b, "EG_METHOD", 9, a);
}

/* The data: m4 definitions of EG_SRC, EG_INCLUDE_AS, EG_STEM and EG_ALL, a list of
 *   EG_IFACE(name, NAME, hash, root kind, line, methods, number of remote methods)
 *   EG_METHOD(name, NAME, index, return type, returns (1: void, 0: a value, f: a future),
 *             is remote, line, params, has outputs)
 *   EG_P(type, name, kind, length param, element size, declaration, fields)
 *   EG_F(field expression)   (a value with padding is sent as these)
 * calls which each template expands with its own definitions of those macros. */
static char *iface_data(const char *src, const char *include_as, const char *stem)
{
    struct buf b = { 0 };
    bputs(&b, "m4_divert(-1)\n");
    const char *defs[][2] = { { "EG_SRC", src }, { "EG_INCLUDE_AS", include_as },
                              { "EG_STEM", stem } };
    for (size_t i = 0; i < sizeof defs / sizeof *defs; i++) {
        call(&b, "m4_define", 2, defs[i]);
        bputs(&b, "\n");
    }
    struct buf all = { 0 };
    bputs(&all, "");
    for (int i = 0; i < nifaces; i++) {
        struct iface *f = &ifaces[i];
        int nremote = 0;
        struct buf methods = { 0 };
        bputs(&methods, "");
        for (int j = 0; j < f->nm; j++) {
            nremote += f->m[j].remote;
            method_data(&methods, &f->m[j], j);
        }
        const char *a[] = { f->name, upper(f->name),
                            fmt("0x%016llx", (unsigned long long)f->hash), f->kind,
                            fmt("%u", f->line), methods.s, fmt("%d", nremote) };
        call(&all, "EG_IFACE", 7, a);
    }
    const char *a[] = { "EG_ALL", all.s };
    call(&b, "m4_define", 2, a);
    bputs(&b, "\nm4_divert(0)m4_dnl\n");
    return b.s;
}

static int write_data(const char *outdir, const char *data, char **path)
{
    *path = fmt("%s/.ebbgen-%d.m4", outdir, (int)getpid());
    FILE *f = fopen(*path, "w");
    if (!f || fputs(data, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "ebbgen: cannot write %s: %s\n", *path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- depfile ---- */

static void incl_visit(CXFile f, CXSourceLocation *stack, unsigned n, CXClientData d)
{
    (void)stack, (void)n;
    char *s = str_of(clang_getFileName(f));
    if (!strs_has(d, s))
        strs_add(d, s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *depfile_text(struct strs *d, const char *first)
{
    struct buf b = { 0 };
    for (int i = 0; i < nouts; i++)
        bprintf(&b, "%s%s", i ? " " : "", outs[i].path);
    bprintf(&b, ": %s", first);
    qsort(d->v, (size_t)d->n, sizeof *d->v, cmp_str);
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->v[i], first))
            bprintf(&b, " \\\n  %s", d->v[i]);
    bputs(&b, "\n");
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->v[i], first))
            bprintf(&b, "%s:\n", d->v[i]);
    return b.s;
}

/* ---- the command line ---- */

struct opts {
    const char *outdir, *mf, *include_as;
    bool md, manifest, defaults;
    const char **cargs; /* for clang */
    int ncargs;
    const char **inputs;
    int ninputs;
};

static bool one_of(const char *a, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(a, *list))
            return true;
    return false;
}

static bool prefixed(const char *a, const char *const *list)
{
    for (; *list; list++)
        if (!strncmp(a, *list, strlen(*list)))
            return true;
    return false;
}

/* The framework's include folders, searched after the user's: beside an installed ebbgen, or
 * the tree it was built in. Also picks the templates unless --templates named some. */
static void add_framework(struct opts *o)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    const char *inc[4] = { EBBGEN_TREE, EBBGEN_TREE "/platform/hosted/include", EBBGEN_TREE_GEN };
    const char *templates = EBBGEN_TREE "/gen";
    if (n > 0) {
        exe[n] = 0;
        char *prefix = fmt("%s/..", dirname(exe));
        struct stat st;
        if (stat(fmt("%s/share/ebbrt/gen/lib.m4", prefix), &st) == 0) {
            templates = fmt("%s/share/ebbrt/gen", prefix);
            inc[0] = fmt("%s/include/ebbrt", prefix);
            inc[1] = fmt("%s/include/ebbrt/platform/hosted/include", prefix);
            inc[2] = NULL;
        }
    }
    for (int i = 0; inc[i]; i++)
        o->cargs[o->ncargs++] = fmt("-idirafter%s", inc[i]);
    o->cargs[o->ncargs++] = "-DEBB_HOSTED";
    if (!tdir)
        tdir = templates;
}

/* 0: parsed; 1: --help printed; -1: bad command line (message printed). */
static int parse_args(struct opts *o, int argc, char **argv)
{
    static const char *const with_arg[] = { "-I", "-D", "-U", "-isystem", "-iquote", "-include",
                                            NULL };
    static const char *const ignored[] = { "-pthread", "-W", "-f", "-m", "-O", "-g", NULL };
    o->cargs = xmalloc(sizeof *o->cargs * (size_t)(argc + 16));
    o->inputs = xmalloc(sizeof *o->inputs * (size_t)argc);
    const char *fixed[] = { "-x", "c", "-std=gnu11", "-DEBBGEN=1",
                            "-Wno-pragma-once-outside-header" };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        o->cargs[o->ncargs++] = fixed[i];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 1;
        }
        if (!strcmp(a, "-o") && next)
            o->outdir = argv[++i];
        else if (!strcmp(a, "-MD"))
            o->md = true;
        else if (!strcmp(a, "-MF") && next)
            o->md = true, o->mf = argv[++i];
        else if (!strcmp(a, "--manifest"))
            o->manifest = true;
        else if (!strcmp(a, "--defaults"))
            o->manifest = o->defaults = true;
        else if (!strcmp(a, "--include-as") && next)
            o->include_as = argv[++i];
        else if (!strcmp(a, "--templates") && next)
            tdir = argv[++i];
        else if (one_of(a, with_arg) && next)
            o->cargs[o->ncargs++] = fmt("%s%s", a, argv[++i]);
        else if (prefixed(a, with_arg) || !strncmp(a, "-std=", 5))
            o->cargs[o->ncargs++] = a;
        else if (prefixed(a, ignored))
            continue;
        else if (a[0] == '-') {
            fprintf(stderr, "ebbgen: unknown option '%s'\n%s", a, usage);
            return -1;
        } else
            o->inputs[o->ninputs++] = a;
    }
    if (o->ninputs == 0 || (!o->manifest && o->ninputs != 1)) {
        fprintf(stderr, "ebbgen: %s\n%s", o->ninputs ? "one interface file at a time" : "no input",
                usage);
        return -1;
    }
    add_framework(o);
    return 0;
}

/* ---- the two jobs ---- */

/* The m4 data for the binding table of the manifests; NULL on error. */
static char *manifest_job(struct opts *o, struct strs *deps, char **stem)
{
    struct manifest mf = { 0 };
    for (int i = 0; i < o->ninputs; i++) {
        read_manifest(o->inputs[i], &mf);
        strs_add(deps, o->inputs[i]);
    }
    *stem = "bindings";
    outs[nouts++].path = fmt("%s/bindings.gen.c", o->outdir);
    if (nerrors)
        return NULL;
    struct buf srcs = { 0 }, all = { 0 }, b = { 0 };
    for (int i = 0; i < o->ninputs; i++)
        bprintf(&srcs, "%s%s", i ? " " : "", o->inputs[i]);
    bputs(&all, "");
    for (int i = 0; i < mf.incs.n; i++)
        call(&all, "EG_INCLUDE", 1, (const char *[]){ mf.incs.v[i] });
    for (int i = 0; i < mf.nb; i++)
        call(&all, "EG_BIND", 3, (const char *[]){ mf.b[i].id, mf.b[i].root, mf.b[i].only });
    bputs(&b, "m4_divert(-1)\n");
    call(&b, "m4_define", 2, (const char *[]){ "EG_SRC", srcs.s });
    call(&b, "m4_define", 2, (const char *[]){ "EG_TABLE", o->defaults ? "default" : "image" });
    call(&b, "m4_define", 2, (const char *[]){ "EG_ALL", all.s });
    bputs(&b, "\nm4_divert(0)m4_dnl\n");
    return b.s;
}

/* Prints clang's errors (and warnings about the input); returns how many errors there were. */
static int report_diagnostics(CXTranslationUnit tu, const char *src)
{
    int errors = 0;
    unsigned nd = clang_getNumDiagnostics(tu);
    for (unsigned i = 0; i < nd; i++) {
        CXDiagnostic d = clang_getDiagnostic(tu, i);
        enum CXDiagnosticSeverity sev = clang_getDiagnosticSeverity(d);
        CXFile df;
        clang_getExpansionLocation(clang_getDiagnosticLocation(d), &df, NULL, NULL, NULL);
        bool here = df && clang_File_isEqual(df, clang_getFile(tu, src));
        if (sev >= CXDiagnostic_Error || (sev == CXDiagnostic_Warning && here)) {
            unsigned how = CXDiagnostic_DisplaySourceLocation | CXDiagnostic_DisplayColumn;
            CXString s = clang_formatDiagnostic(d, how);
            fprintf(stderr, "%s\n", clang_getCString(s));
            clang_disposeString(s);
        }
        errors += sev >= CXDiagnostic_Error;
        clang_disposeDiagnostic(d);
    }
    return errors;
}

/* A header that uses the annotations without including their definitions: say so at the first
 * use, instead of clang's puzzled syntax errors. */
static bool annotations_missing(const char *src, const struct strs *included)
{
    for (int i = 0; i < included->n; i++) {
        size_t l = strlen(included->v[i]);
        if (l >= 16 && !strcmp(included->v[i] + l - 16, "core/ebb_annot.h"))
            return false;
    }
    FILE *f = fopen(src, "r");
    if (!f)
        return false;
    char line[4096];
    unsigned ln = 0;
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        ln++;
        char *p = strstr(line, "EBB_INTERFACE");
        if (p) {
            error_at(src, ln, (unsigned)(p - line) + 1, "EBB_INTERFACE is not defined: include "
                     "\"core/ebb_annot.h\" (the Ebb annotations) before using it");
            found = true;
        }
    }
    fclose(f);
    return found;
}

static const char *stem_of(const char *src)
{
    const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
    size_t bl = strlen(base);
    if (bl > 6 && !strcmp(base + bl - 6, ".ebb.h"))
        return fmt("%.*s", (int)(bl - 6), base);
    if (bl > 2 && !strcmp(base + bl - 2, ".h"))
        return fmt("%.*s", (int)(bl - 2), base);
    return base;
}

/* The m4 data for an interface file; NULL on error. */
static char *iface_job(struct opts *o, struct strs *deps, char **stem)
{
    const char *src = o->inputs[0];
    if (!strncmp(src, "./", 2))
        src += 2;
    o->inputs[0] = src;
    const char *include_as = o->include_as ? o->include_as : src;
    *stem = (char *)stem_of(src);
    outs[nouts++].path = fmt("%s/%s.gen.h", o->outdir, *stem);
    outs[nouts++].path = fmt("%s/%s.gen.c", o->outdir, *stem);
    struct stat st;
    if (!ident_ok(src) || !ident_ok(include_as)) {
        error_at(src, 1, 1, "file name not usable for generated names");
        return NULL;
    }
    if (stat(src, &st) < 0) {
        error_at(src, 1, 1, "cannot read: %s", strerror(errno));
        return NULL;
    }
    CXIndex idx = clang_createIndex(0, 0);
    CXTranslationUnit tu = NULL;
    enum CXErrorCode ec = clang_parseTranslationUnit2(idx, src, o->cargs, o->ncargs, NULL, 0,
                                                      CXTranslationUnit_SkipFunctionBodies, &tu);
    if (ec != CXError_Success || !tu) {
        error_at(src, 1, 1, "clang could not parse the file (code %d)", (int)ec);
        return NULL;
    }
    strs_add(deps, src);
    clang_getInclusions(tu, incl_visit, deps);
    if (annotations_missing(src, deps))
        return NULL;
    nerrors += report_diagnostics(tu, src);
    if (nerrors)
        return NULL;
    if (read_interfaces(tu) == 0 && nifaces == 0)
        error_at(src, 1, 1, "no interface: mark a struct with EBB_INTERFACE(kind)");
    if (nerrors)
        return NULL;
    return iface_data(src, include_as, *stem);
}

/* Expands the templates over the data into the outputs, and the depfile. */
static int write_outputs(struct opts *o, const char *data, struct strs *deps, const char *stem)
{
    const char *tmpls[2] = { o->manifest ? "bindings.c.m4" : "iface.h.m4", "iface.c.m4" };
    char *datapath;
    strs_add(deps, fmt("%s/lib.m4", tdir));
    for (int i = 0; i < nouts; i++)
        strs_add(deps, fmt("%s/%s", tdir, tmpls[i]));
    if (write_data(o->outdir, data, &datapath) < 0)
        return -1;
    for (int i = 0; i < nouts; i++) {
        char *raw = run_m4(datapath, tmpls[i]);
        outs[i].text = raw ? finish(raw, outs[i].path, tmpls[i]) : NULL;
        if (!outs[i].text)
            break;
    }
    if (!getenv("EBBGEN_KEEP")) /* EBBGEN_KEEP=1: keep the m4 data, to debug a template */
        unlink(datapath);
    for (int i = 0; i < nouts; i++)
        if (!outs[i].text)
            return -1;
    if (o->md) {
        outs[nouts].path = o->mf ? xstrdup(o->mf) : fmt("%s/%s.gen.d", o->outdir, stem);
        outs[nouts].text = depfile_text(deps, o->inputs[0]);
        nouts++;
    }
    return commit_outputs();
}

int main(int argc, char **argv)
{
    struct opts o = { .outdir = "." };
    int r = parse_args(&o, argc, argv);
    if (r)
        return r > 0 ? 0 : 2;
    if (mkdirs(o.outdir) < 0)
        return 1;
    struct strs deps = { 0 };
    char *stem = NULL;
    char *data = o.manifest ? manifest_job(&o, &deps, &stem) : iface_job(&o, &deps, &stem);
    if (!data || write_outputs(&o, data, &deps, stem) < 0) {
        discard_outputs();
        return 1;
    }
    return 0;
}

