/* ebbgen: reads Ebb interfaces (annotated C structs in x.ebb.h) with libclang and writes their
 * glue through the m4 templates in gen/; also turns image manifests into static binding tables.
 * See docs/ebbgen.md. The C side finds and checks facts; the templates decide what C to write. */
#define _GNU_SOURCE
#include <clang-c/Index.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef EBBGEN_TEMPLATES
#define EBBGEN_TEMPLATES "gen"
#endif

static const char *usage =
    "usage: ebbgen [options] x.ebb.h            glue for the interfaces in x.ebb.h\n"
    "       ebbgen [options] --manifest m1 [m2]  static binding table (later files override)\n"
    "options:\n"
    "  -o DIR          write outputs into DIR (default .): x.gen.h and x.gen.c, or\n"
    "                  bindings.gen.c for manifests\n"
    "  -MD             also write a make depfile (default: DIR/x.gen.d)\n"
    "  -MF FILE        the depfile's name\n"
    "  -I DIR, -D X    passed to clang when parsing\n"
    "  --include-as P  how the generated header includes x.ebb.h (default: the path given)\n"
    "  --templates DIR the m4 templates (default " EBBGEN_TEMPLATES ")\n"
    "  --help          this text\n";

/* ---- small helpers ---- */

static int nerrors;

static void *xmalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) { fprintf(stderr, "ebbgen: out of memory\n"); exit(2); }
    return p;
}
static char *xstrdup(const char *s) { char *p = xmalloc(strlen(s) + 1); strcpy(p, s); return p; }
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    char *s;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0) { fprintf(stderr, "ebbgen: out of memory\n"); exit(2); }
    va_end(ap);
    return s;
}

static void error_at(const char *file, unsigned line, unsigned col, const char *f, ...)
    __attribute__((format(printf, 4, 5)));
static void error_at(const char *file, unsigned line, unsigned col, const char *f, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%u:%u: error: ", file, line, col);
    va_start(ap, f);
    vfprintf(stderr, f, ap);
    va_end(ap);
    fputc('\n', stderr);
    nerrors++;
}

/* A growing string. */
struct buf { char *s; size_t n, cap; };
static void bput(struct buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s) { fprintf(stderr, "ebbgen: out of memory\n"); exit(2); }
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}
static void bputs(struct buf *b, const char *s) { bput(b, s, strlen(s)); }
static void bprintf(struct buf *b, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *f, ...)
{
    va_list ap;
    char *s;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0) exit(2);
    va_end(ap);
    bputs(b, s);
    free(s);
}

/* ---- the model ---- */

enum pkind { P_ANY, P_VAL, P_BOOL, P_IN, P_OUT, P_INOUT, P_STR };
static const char *pkind_name[] = { "any", "val", "bool", "in", "out", "inout", "str" };

struct param {
    char *name, *type;      /* type as written (qualifiers dropped for values) */
    enum pkind kind;
    char *len;              /* in/out/inout: the parameter holding the element count */
    char *esize;            /* in/out/inout: element size expression */
    const char *file; unsigned line, col;
    bool integer;           /* may serve as a length */
};
struct method {
    char *name, *ret;
    bool is_void, is_future, remote; /* is_future: returns ebb_future_t, served asynchronously */
    const char *file; unsigned line, col;
    struct param *p; int np;  /* p[0] is self */
};
struct iface {
    char *name, *kind;
    const char *file; unsigned line, col;
    struct method *m; int nm;
    uint64_t hash;
};
static struct iface *ifaces;
static int nifaces;

static void loc_of(CXCursor c, const char **file, unsigned *line, unsigned *col)
{
    CXFile f;
    clang_getExpansionLocation(clang_getCursorLocation(c), &f, line, col, NULL);
    CXString s = clang_getFileName(f);
    *file = xstrdup(clang_getCString(s) ? clang_getCString(s) : "?");
    clang_disposeString(s);
}
static char *str_of(CXString s) { char *r = xstrdup(clang_getCString(s) ? clang_getCString(s) : ""); clang_disposeString(s); return r; }
static char *cursor_name(CXCursor c) { return str_of(clang_getCursorSpelling(c)); }
static char *type_name(CXType t) { return str_of(clang_getTypeSpelling(t)); }

/* Annotations of a cursor, collected from its AnnotateAttr children. */
struct annots { char *v[8]; CXCursor at[8]; int n; };
static enum CXChildVisitResult annot_visit(CXCursor c, CXCursor parent, CXClientData d)
{
    (void)parent;
    struct annots *a = d;
    if (clang_getCursorKind(c) == CXCursor_AnnotateAttr && a->n < 8) {
        a->at[a->n] = c;
        a->v[a->n++] = cursor_name(c);
    }
    return CXChildVisit_Continue;
}
static struct annots annots_of(CXCursor c)
{
    struct annots a = { .n = 0 };
    clang_visitChildren(c, annot_visit, &a);
    return a;
}

static bool is_integer_kind(enum CXTypeKind k)
{
    return (k >= CXType_Char_U && k <= CXType_ULongLong && k != CXType_Char16 && k != CXType_Char32)
        || (k >= CXType_Char_S && k <= CXType_LongLong) || k == CXType_Enum;
}
static bool is_scalar(CXType t)
{
    enum CXTypeKind k = clang_getCanonicalType(t).kind;
    return is_integer_kind(k) || k == CXType_Bool || k == CXType_Float || k == CXType_Double;
}

/* A struct that can cross the wire as its bytes: scalars, arrays of them, and such structs. */
static bool copyable(CXType t, char **why);
struct copy_ctx { bool ok; char **why; };
static enum CXVisitorResult field_visit(CXCursor c, CXClientData d)
{
    struct copy_ctx *x = d;
    CXType t = clang_getCanonicalType(clang_getCursorType(c));
    while (t.kind == CXType_ConstantArray) t = clang_getCanonicalType(clang_getArrayElementType(t));
    if (!copyable(t, x->why)) {
        if (!*x->why) *x->why = fmt("field '%s' is a %s", str_of(clang_getCursorSpelling(c)), type_name(t));
        x->ok = false;
        return CXVisit_Break;
    }
    return CXVisit_Continue;
}
static bool copyable(CXType t, char **why)
{
    t = clang_getCanonicalType(t);
    if (is_scalar(t)) return true;
    if (t.kind != CXType_Record) return false;
    if (clang_getCursorKind(clang_getTypeDeclaration(t)) != CXCursor_StructDecl) {
        *why = fmt("'%s' is a union", type_name(t));
        return false;
    }
    if (clang_Type_getSizeOf(t) < 0) { *why = fmt("'%s' is incomplete", type_name(t)); return false; }
    struct copy_ctx x = { true, why };
    clang_Type_visitFields(t, field_visit, &x);
    return x.ok;
}

static bool ident_ok(const char *s)
{
    /* Text handed to m4 must not contain its quotes, '$' or names of template macros. */
    return !strstr(s, "\xc2\xab") && !strstr(s, "\xc2\xbb") && !strchr(s, '$') && !strstr(s, "m4_")
        && !strstr(s, "EG_");
}

static char *upper(const char *s)
{
    char *u = xstrdup(s);
    for (char *p = u; *p; p++) if (*p >= 'a' && *p <= 'z') *p -= 32;
    return u;
}

/* One parameter of a method (p[0] is self): checked, and classified for marshalling. */
static enum CXChildVisitResult parm_visit(CXCursor c, CXCursor parent, CXClientData d)
{
    (void)parent;
    struct method *m = d;
    if (clang_getCursorKind(c) != CXCursor_ParmDecl) return CXChildVisit_Continue;
    m->p = realloc(m->p, sizeof *m->p * (size_t)(m->np + 1));
    struct param *p = &m->p[m->np++];
    memset(p, 0, sizeof *p);
    p->name = cursor_name(c);
    loc_of(c, &p->file, &p->line, &p->col);
    CXType t = clang_getCursorType(c);
    CXType ct = clang_getCanonicalType(t);
    p->type = type_name(t);
    p->integer = is_integer_kind(ct.kind);
    struct annots a = annots_of(c);
    if (m->np == 1) { /* self */
        if (ct.kind != CXType_Pointer)
            error_at(p->file, p->line, p->col, "first parameter of method '%s' must be the rep pointer (self)", m->name);
        return CXChildVisit_Continue;
    }
    if (!p->name[0]) {
        error_at(p->file, p->line, p->col, "parameter %d of method '%s' has no name", m->np - 1, m->name);
        return CXChildVisit_Continue;
    }
    if (!strncmp(p->name, "ebb_", 4)) {
        error_at(p->file, p->line, p->col, "parameter name '%s': names starting with ebb_ are reserved for generated code", p->name);
        return CXChildVisit_Continue;
    }
    p->kind = P_ANY;
    for (int i = 0; i < a.n; i++) {
        const char *v = a.v[i];
        enum pkind k = !strncmp(v, "ebb:in:", 7) ? P_IN : !strncmp(v, "ebb:out:", 8) ? P_OUT
                     : !strncmp(v, "ebb:inout:", 10) ? P_INOUT : !strcmp(v, "ebb:string") ? P_STR : P_ANY;
        if (k == P_ANY) continue;
        if (p->kind != P_ANY) {
            error_at(p->file, p->line, p->col, "parameter '%s' has two buffer annotations", p->name);
            continue;
        }
        p->kind = k;
        if (k != P_STR) p->len = xstrdup(strchr(v + 4, ':') + 1);
    }
    bool arr = ct.kind == CXType_ConstantArray || ct.kind == CXType_IncompleteArray
            || ct.kind == CXType_VariableArray || ct.kind == CXType_DependentSizedArray
            || strchr(p->type, '[') != NULL;
    if (p->kind != P_ANY && ct.kind != CXType_Pointer) {
        error_at(p->file, p->line, p->col, "parameter '%s' has a buffer annotation but is not a pointer", p->name);
        return CXChildVisit_Continue;
    }
    if (!m->remote) return CXChildVisit_Continue;

    /* Remote: the parameter must cross the wire. */
    char *why = NULL;
    if (arr) {
        error_at(p->file, p->line, p->col, "parameter '%s' of remote method '%s' is an array: pass a pointer annotated EBB_IN(len)", p->name, m->name);
    } else if (ct.kind == CXType_Bool) {
        p->kind = P_BOOL;
    } else if (is_scalar(ct)) {
        p->kind = P_VAL;
    } else if (ct.kind == CXType_Record) {
        if (copyable(ct, &why)) p->kind = P_VAL;
        else error_at(p->file, p->line, p->col, "parameter '%s' of remote method '%s': ebbgen cannot copy %s by value%s%s",
                      p->name, m->name, p->type, why ? ": " : "", why ? why : "");
    } else if (ct.kind == CXType_Pointer) {
        CXType pt = clang_getPointeeType(t);
        CXType pct = clang_getCanonicalType(pt);
        if (p->kind == P_ANY) {
            error_at(p->file, p->line, p->col, "pointer parameter '%s' of remote method '%s' needs EBB_IN(len), EBB_OUT(len), EBB_INOUT(len) or EBB_STRING", p->name, m->name);
        } else if (p->kind == P_STR) {
            if (pct.kind != CXType_Char_S && pct.kind != CXType_Char_U)
                error_at(p->file, p->line, p->col, "EBB_STRING parameter '%s' must be a char pointer", p->name);
        } else if ((p->kind == P_OUT || p->kind == P_INOUT) && clang_isConstQualifiedType(pt)) {
            error_at(p->file, p->line, p->col, "EBB_%s parameter '%s' points to const", p->kind == P_OUT ? "OUT" : "INOUT", p->name);
        } else if (pct.kind == CXType_Void) {
            p->esize = xstrdup("1");
        } else if (copyable(pct, &why) && clang_Type_getAlignOf(pct) <= 8) {
            char *pts = type_name(pt);
            p->esize = fmt("sizeof(%s)", pts);
        } else {
            error_at(p->file, p->line, p->col, "parameter '%s' of remote method '%s': ebbgen cannot copy elements of type %s%s%s",
                     p->name, m->name, type_name(pt), why ? ": " : "", why ? why : "");
        }
    } else {
        error_at(p->file, p->line, p->col, "parameter '%s' of remote method '%s' has type %s, which ebbgen cannot marshal",
                 p->name, m->name, p->type);
    }
    if (p->kind == P_VAL || p->kind == P_BOOL) {
        /* Values are declared and filled in by the dispatcher: drop qualifiers. */
        for (;;) {
            if (!strncmp(p->type, "const ", 6)) memmove(p->type, p->type + 6, strlen(p->type + 6) + 1);
            else if (!strncmp(p->type, "volatile ", 9)) memmove(p->type, p->type + 9, strlen(p->type + 9) + 1);
            else break;
        }
    }
    return CXChildVisit_Continue;
}

struct cursors { CXCursor *v; int n; };
static enum CXChildVisitResult collect_parms(CXCursor c, CXCursor parent, CXClientData d)
{
    (void)parent;
    struct cursors *cs = d;
    if (clang_getCursorKind(c) == CXCursor_ParmDecl) {
        cs->v = realloc(cs->v, sizeof *cs->v * (size_t)(cs->n + 1));
        cs->v[cs->n++] = c;
    }
    return CXChildVisit_Continue;
}

static void add_method(struct iface *f, CXCursor field)
{
    struct method m = { 0 };
    m.name = cursor_name(field);
    loc_of(field, &m.file, &m.line, &m.col);
    CXType t = clang_getCanonicalType(clang_getCursorType(field));
    CXType ft = clang_getCanonicalType(clang_getPointeeType(t));
    if (t.kind != CXType_Pointer || (ft.kind != CXType_FunctionProto && ft.kind != CXType_FunctionNoProto)) {
        error_at(m.file, m.line, m.col, "member '%s' of interface '%s' is not a function pointer", m.name, f->name);
        return;
    }
    if (ft.kind == CXType_FunctionNoProto) {
        error_at(m.file, m.line, m.col, "method '%s' has no prototype: list its parameters", m.name);
        return;
    }
    if (clang_isFunctionTypeVariadic(ft)) {
        error_at(m.file, m.line, m.col, "method '%s' is variadic", m.name);
        return;
    }
    struct annots a = annots_of(field);
    for (int i = 0; i < a.n; i++)
        if (!strcmp(a.v[i], "ebb:remote")) m.remote = true;
    CXType rt = clang_getResultType(ft);
    /* The return type as written (typedef names kept). */
    m.ret = type_name(clang_getResultType(clang_getPointeeType(clang_getCursorType(field))));
    m.is_void = rt.kind == CXType_Void;
    m.is_future = !strcmp(m.ret, "ebb_future_t");
    int nargs = clang_getNumArgTypes(ft);
    /* The ParmDecls under the field: a returned function type's come first, the method's last. */
    struct cursors cs = { 0 };
    clang_visitChildren(field, collect_parms, &cs);
    for (int i = cs.n > nargs ? cs.n - nargs : 0; i < cs.n; i++)
        parm_visit(cs.v[i], field, &m);
    if (nargs == 0) {
        error_at(m.file, m.line, m.col, "method '%s' has no parameters: the first must be the rep pointer (self)", m.name);
        return;
    }
    if (m.np != nargs) {
        error_at(m.file, m.line, m.col, "method '%s' is declared through a typedef'd function type: write the parameters in place", m.name);
        return;
    }
    if (m.remote && !m.is_void && !m.is_future && !is_integer_kind(rt.kind) && rt.kind != CXType_Bool)
        error_at(m.file, m.line, m.col, "remote method '%s' returns %s: a remote method returns void, an integer, an enum, bool or ebb_future_t", m.name, m.ret);
    /* Length references. */
    for (int i = 1; i < m.np; i++) {
        struct param *p = &m.p[i];
        if (!p->len) continue;
        int j;
        for (j = 1; j < m.np; j++) if (!strcmp(m.p[j].name, p->len)) break;
        if (j == m.np) error_at(p->file, p->line, p->col, "length '%s' of parameter '%s' is not a parameter of method '%s'", p->len, p->name, m.name);
        else if (j == i || !m.p[j].integer) error_at(p->file, p->line, p->col, "length '%s' of parameter '%s' is not an integer parameter", p->len, p->name);
    }
    for (int i = 0; i < m.np; i++)
        if (!ident_ok(m.p[i].type) || !ident_ok(m.p[i].name))
            error_at(m.p[i].file, m.p[i].line, m.p[i].col, "parameter '%s' uses a name reserved by ebbgen's templates ($, m4_, EG_)", m.p[i].name);
    if (!ident_ok(m.name) || !ident_ok(m.ret))
        error_at(m.file, m.line, m.col, "method '%s' uses a name reserved by ebbgen's templates ($, m4_, EG_)", m.name);
    f->m = realloc(f->m, sizeof *f->m * (size_t)(f->nm + 1));
    f->m[f->nm++] = m;
}

static enum CXChildVisitResult field_of_iface(CXCursor c, CXCursor parent, CXClientData d)
{
    (void)parent;
    if (clang_getCursorKind(c) == CXCursor_FieldDecl) add_method(d, c);
    return CXChildVisit_Continue;
}

static enum CXChildVisitResult top_visit(CXCursor c, CXCursor parent, CXClientData d)
{
    (void)parent; (void)d;
    if (!clang_Location_isFromMainFile(clang_getCursorLocation(c))) return CXChildVisit_Continue;
    if (clang_getCursorKind(c) != CXCursor_StructDecl || !clang_isCursorDefinition(c)) return CXChildVisit_Continue;
    struct annots a = annots_of(c);
    const char *kind = NULL;
    for (int i = 0; i < a.n; i++)
        if (!strncmp(a.v[i], "ebb:interface:", 14)) kind = a.v[i] + 14;
    if (!kind) return CXChildVisit_Continue;
    struct iface f = { 0 };
    f.name = cursor_name(c);
    loc_of(c, &f.file, &f.line, &f.col);
    if (!f.name[0] || clang_Cursor_isAnonymous(c)) {
        error_at(f.file, f.line, f.col, "an interface needs a struct tag");
        return CXChildVisit_Continue;
    }
    if (!strcmp(kind, "shared")) f.kind = "EBB_SHARED";
    else if (!strcmp(kind, "per_core")) f.kind = "EBB_PER_CORE";
    else if (!strcmp(kind, "per_node")) f.kind = "EBB_PER_NODE";
    else {
        error_at(f.file, f.line, f.col, "interface '%s': kind '%s' is not shared, per_core or per_node", f.name, kind);
        return CXChildVisit_Continue;
    }
    if (!ident_ok(f.name)) error_at(f.file, f.line, f.col, "interface name '%s' is reserved by ebbgen's templates", f.name);
    clang_visitChildren(c, field_of_iface, &f);
    if (f.nm == 0 && !nerrors) error_at(f.file, f.line, f.col, "interface '%s' has no methods", f.name);
    ifaces = realloc(ifaces, sizeof *ifaces * (size_t)(nifaces + 1));
    ifaces[nifaces++] = f;
    return CXChildVisit_Continue;
}

/* FNV-1a over a canonical signature: what both ends of a message must agree on. */
static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 0x100000001b3ull; }
    return h;
}
static void hash_iface(struct iface *f)
{
    uint64_t h = fnv(0xcbf29ce484222325ull, "ebb1 ");
    h = fnv(h, f->name);
    for (int i = 0; i < f->nm; i++) {
        struct method *m = &f->m[i];
        char *s = fmt("|%s %s %s(", m->remote ? "remote" : "local", m->ret, m->name);
        h = fnv(h, s);
        for (int j = 1; j < m->np; j++) {
            char *t = fmt("%s:%s:%s,", m->p[j].type, pkind_name[m->p[j].kind], m->p[j].len ? m->p[j].len : "");
            h = fnv(h, t);
        }
        h = fnv(h, ")");
    }
    f->hash = h;
}

/* ---- m4 ---- */

static const char *tdir = EBBGEN_TEMPLATES;

/* Runs m4 -P lib.m4 data template; returns its output or NULL. */
static char *run_m4(const char *data, const char *tmpl)
{
    int fd[2];
    if (pipe(fd) < 0) { perror("ebbgen: pipe"); return NULL; }
    char *lib = fmt("%s/lib.m4", tdir), *t = fmt("%s/%s", tdir, tmpl);
    pid_t pid = fork();
    if (pid < 0) { perror("ebbgen: fork"); return NULL; }
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
    while ((n = read(fd[0], tmp, sizeof tmp)) > 0) bput(&b, tmp, (size_t)n);
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "ebbgen: m4 failed on template %s\n", t);
        free(b.s);
        return NULL;
    }
    if (!b.s) bputs(&b, "");
    return b.s;
}

/* Fills in `#line @` (back to the generated file) and checks no template name leaked out. */
static char *finish(const char *text, const char *outname, const char *tmpl)
{
    struct buf b = { 0 };
    const char *base = strrchr(outname, '/') ? strrchr(outname, '/') + 1 : outname;
    unsigned line = 1;
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p + 1) : strlen(p);
        if (n >= 8 && !strncmp(p, "#line @\n", 8)) bprintf(&b, "#line %u \"%s\"\n", line + 1, base);
        else bput(&b, p, n);
        line++;
        p += n;
    }
    if (!b.s) bputs(&b, "");
    if (strstr(b.s, "EG_") || strstr(b.s, "m4_") || strstr(b.s, "\xc2\xab")) {
        fprintf(stderr, "ebbgen: internal error: template %s left macro text in %s\n", tmpl, outname);
        return NULL;
    }
    return b.s;
}

/* ---- outputs: written to temporaries, renamed only when everything succeeded ---- */

struct out { char *path, *tmp, *text; };
static struct out outs[4];
static int nouts;

static void discard_outputs(void)
{
    for (int i = 0; i < nouts; i++) {
        if (outs[i].tmp) unlink(outs[i].tmp);
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
    for (int i = 0; i < nouts; i++)
        if (rename(outs[i].tmp, outs[i].path) < 0) {
            fprintf(stderr, "ebbgen: cannot rename to %s: %s\n", outs[i].path, strerror(errno));
            discard_outputs();
            return -1;
        }
    return 0;
}

static int mkdirs(const char *dir)
{
    char *d = xstrdup(dir);
    for (char *p = d + 1; *p; p++)
        if (*p == '/') { *p = 0; mkdir(d, 0777); *p = '/'; }
    if (mkdir(d, 0777) < 0 && errno != EEXIST) {
        fprintf(stderr, "ebbgen: cannot create %s: %s\n", d, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- data handed to the templates ---- */

static void q(struct buf *b, const char *s) { bputs(b, "\xc2\xab"); bputs(b, s); bputs(b, "\xc2\xbb"); }

/* The data: m4 definitions of EG_SRC, EG_INCLUDE_AS, EG_STEM and EG_ALL, a list of
 *   EG_IFACE(name, NAME, hash, root kind, line, methods, number of remote methods)
 *   EG_METHOD(name, NAME, index, return type, returns (1: void, 0: a value, f: a future),
 *             is remote, line, params, has outputs)
 *   EG_P(type, name, kind, length param, element size, declaration)
 * calls which each template expands with its own definitions of those macros. */
static char *iface_data(const char *src, const char *include_as, const char *stem)
{
    struct buf b = { 0 };
    bputs(&b, "m4_divert(-1)\nm4_define(\xc2\xab" "EG_SRC\xc2\xbb, "); q(&b, src);
    bputs(&b, ")\nm4_define(\xc2\xab" "EG_INCLUDE_AS\xc2\xbb, "); q(&b, include_as);
    bputs(&b, ")\nm4_define(\xc2\xab" "EG_STEM\xc2\xbb, "); q(&b, stem);
    bputs(&b, ")\nm4_define(\xc2\xab" "EG_ALL\xc2\xbb, \xc2\xab");
    for (int i = 0; i < nifaces; i++) {
        struct iface *f = &ifaces[i];
        int nremote = 0;
        for (int j = 0; j < f->nm; j++) nremote += f->m[j].remote;
        bputs(&b, "EG_IFACE(");
        q(&b, f->name); bputs(&b, ", "); q(&b, upper(f->name)); bputs(&b, ", ");
        q(&b, fmt("0x%016llx", (unsigned long long)f->hash)); bputs(&b, ", ");
        q(&b, f->kind); bputs(&b, ", "); q(&b, fmt("%u", f->line)); bputs(&b, ", \xc2\xab");
        for (int j = 0; j < f->nm; j++) {
            struct method *m = &f->m[j];
            bool outs = false;
            for (int k = 1; k < m->np; k++) outs |= m->p[k].kind == P_OUT || m->p[k].kind == P_INOUT;
            bputs(&b, "EG_METHOD(");
            q(&b, m->name); bputs(&b, ", "); q(&b, upper(m->name)); bputs(&b, ", ");
            /* A return type such as int (*)(int) cannot be written before the name either. */
            q(&b, fmt("%d", j)); bputs(&b, ", ");
            q(&b, strpbrk(m->ret, "([") ? fmt("__typeof__(%s)", m->ret) : m->ret); bputs(&b, ", ");
            q(&b, m->is_void ? "1" : m->is_future ? "f" : "0"); bputs(&b, ", "); q(&b, m->remote ? "1" : "0"); bputs(&b, ", ");
            q(&b, fmt("%u", m->line)); bputs(&b, ", \xc2\xab");
            for (int k = 1; k < m->np; k++) {
                struct param *p = &m->p[k];
                /* A type such as int (*)(int) cannot be written before the name. */
                char *decl = strpbrk(p->type, "([") ? fmt("__typeof__(%s) %s", p->type, p->name)
                           : p->type[strlen(p->type) - 1] == '*' ? fmt("%s%s", p->type, p->name)
                           : fmt("%s %s", p->type, p->name);
                bputs(&b, "EG_P(");
                q(&b, p->type); bputs(&b, ", "); q(&b, p->name); bputs(&b, ", ");
                q(&b, pkind_name[p->kind]); bputs(&b, ", "); q(&b, p->len ? p->len : "");
                bputs(&b, ", "); q(&b, p->esize ? p->esize : ""); bputs(&b, ", "); q(&b, decl);
                bputs(&b, ")");
            }
            bputs(&b, "\xc2\xbb, "); q(&b, outs ? "1" : "0"); bputs(&b, ")");
        }
        bprintf(&b, "\xc2\xbb, \xc2\xab%d\xc2\xbb)", nremote);
    }
    bputs(&b, "\xc2\xbb)\nm4_divert(0)m4_dnl\n");
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

struct deps { char **v; int n; };
static void dep_add(struct deps *d, const char *s)
{
    for (int i = 0; i < d->n; i++) if (!strcmp(d->v[i], s)) return;
    d->v = realloc(d->v, sizeof *d->v * (size_t)(d->n + 1));
    d->v[d->n++] = xstrdup(s);
}
static void incl_visit(CXFile f, CXSourceLocation *stack, unsigned n, CXClientData d)
{
    (void)stack; (void)n;
    CXString s = clang_getFileName(f);
    dep_add(d, clang_getCString(s));
    clang_disposeString(s);
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static char *depfile_text(struct deps *d, const char *first)
{
    struct buf b = { 0 };
    for (int i = 0; i < nouts; i++) bprintf(&b, "%s%s", i ? " " : "", outs[i].path);
    bprintf(&b, ": %s", first);
    qsort(d->v, (size_t)d->n, sizeof *d->v, cmp_str);
    for (int i = 0; i < d->n; i++) if (strcmp(d->v[i], first)) bprintf(&b, " \\\n  %s", d->v[i]);
    bputs(&b, "\n");
    for (int i = 0; i < d->n; i++) if (strcmp(d->v[i], first)) bprintf(&b, "%s:\n", d->v[i]);
    return b.s;
}

/* ---- manifests ---- */

struct binding { char *id, *root, *only; const char *file; unsigned line; };

static bool c_ident(const char *s, size_t n)
{
    if (!n || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_')) return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}
static bool c_number(const char *s, size_t n)
{
    if (!n) return false;
    for (size_t i = 0; i < n; i++) if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

/* Lines: `include "path.h"`, `bind ID ROOT [hosted|native]`, blank, or # comments. */
static int read_manifest(const char *file, struct binding **bs, int *nb, char ***incs, int *ninc)
{
    FILE *f = fopen(file, "r");
    if (!f) { fprintf(stderr, "%s:1:1: error: cannot open manifest: %s\n", file, strerror(errno)); nerrors++; return -1; }
    char line[1024];
    unsigned ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char *w[4];
        unsigned col[4];
        int n = 0;
        char *p = line;
        while (*p && n < 4) {
            while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
            if (!*p || *p == '#') break;
            col[n] = (unsigned)(p - line) + 1;
            w[n++] = p;
            while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') p++;
            if (*p) *p++ = 0;
        }
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
        if (n == 0) continue;
        if (*p && *p != '#') { error_at(file, ln, (unsigned)(p - line) + 1, "too many words"); continue; }
        if (!strcmp(w[0], "include")) {
            size_t l = n == 2 ? strlen(w[1]) : 0;
            if (n != 2 || l < 3 || ((w[1][0] != '"' || w[1][l - 1] != '"') && (w[1][0] != '<' || w[1][l - 1] != '>'))
                || !ident_ok(w[1])) {
                error_at(file, ln, col[0], "expected: include \"header.h\"");
                continue;
            }
            int i;
            for (i = 0; i < *ninc; i++) if (!strcmp((*incs)[i], w[1])) break;
            if (i < *ninc) continue;
            *incs = realloc(*incs, sizeof **incs * (size_t)(*ninc + 1));
            (*incs)[(*ninc)++] = xstrdup(w[1]);
        } else if (!strcmp(w[0], "bind")) {
            if (n != 3 && n != 4) { error_at(file, ln, col[0], "expected: bind ID ROOT [hosted|native]"); continue; }
            if (n == 4 && strcmp(w[3], "hosted") && strcmp(w[3], "native")) {
                error_at(file, ln, col[3], "'%s' is not a platform (hosted or native)", w[3]);
                continue;
            }
            if (!(c_ident(w[1], strlen(w[1])) || c_number(w[1], strlen(w[1]))) || !ident_ok(w[1])) {
                error_at(file, ln, col[1], "'%s' is not an id (a C identifier or a number)", w[1]);
                continue;
            }
            if (!c_ident(w[2], strlen(w[2])) || !ident_ok(w[2])) {
                error_at(file, ln, col[2], "'%s' is not a root (the name of a struct ebb_root)", w[2]);
                continue;
            }
            int i;
            for (i = 0; i < *nb; i++) if (!strcmp((*bs)[i].id, w[1])) break;
            if (i < *nb && (*bs)[i].file == file) {
                error_at(file, ln, col[1], "id %s is bound twice (first at line %u)", w[1], (*bs)[i].line);
                continue;
            }
            if (i == *nb) { *bs = realloc(*bs, sizeof **bs * (size_t)(*nb + 1)); (*nb)++; (*bs)[i].id = xstrdup(w[1]); }
            (*bs)[i].root = xstrdup(w[2]);
            (*bs)[i].only = n == 4 ? (!strcmp(w[3], "hosted") ? "EBB_HOSTED" : "EBB_NATIVE") : "";
            (*bs)[i].file = file;
            (*bs)[i].line = ln;
        } else {
            error_at(file, ln, col[0], "unknown directive '%s' (expected include or bind)", w[0]);
        }
    }
    fclose(f);
    return 0;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    const char *outdir = ".", *mf = NULL, *include_as = NULL;
    bool md = false, manifest = false;
    const char **cargs = xmalloc(sizeof *cargs * (size_t)(argc + 8));
    int ncargs = 0;
    const char **inputs = xmalloc(sizeof *inputs * (size_t)argc);
    int ninputs = 0;
    cargs[ncargs++] = "-x";
    cargs[ncargs++] = "c";
    cargs[ncargs++] = "-std=gnu11";
    cargs[ncargs++] = "-DEBBGEN=1";
    cargs[ncargs++] = "-Wno-pragma-once-outside-header";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(usage, stdout); return 0; }
        else if (!strcmp(a, "-o") && i + 1 < argc) outdir = argv[++i];
        else if (!strcmp(a, "-MD")) md = true;
        else if (!strcmp(a, "-MF") && i + 1 < argc) { mf = argv[++i]; md = true; }
        else if (!strcmp(a, "--manifest")) manifest = true;
        else if (!strcmp(a, "--include-as") && i + 1 < argc) include_as = argv[++i];
        else if (!strcmp(a, "--templates") && i + 1 < argc) tdir = argv[++i];
        else if ((!strcmp(a, "-I") || !strcmp(a, "-D")) && i + 1 < argc) { cargs[ncargs++] = fmt("%s%s", a, argv[i + 1]); i++; }
        else if (!strncmp(a, "-I", 2) || !strncmp(a, "-D", 2)) cargs[ncargs++] = a;
        else if (a[0] == '-') { fprintf(stderr, "ebbgen: unknown option '%s'\n%s", a, usage); return 2; }
        else inputs[ninputs++] = a;
    }
    if (ninputs == 0 || (!manifest && ninputs != 1)) {
        fprintf(stderr, "ebbgen: %s\n%s", ninputs ? "one interface file at a time" : "no input", usage);
        return 2;
    }
    if (mkdirs(outdir) < 0) return 1;
    struct deps deps = { 0 };
    char *data = NULL, *datapath = NULL;
    const char *t1 = NULL, *t2 = NULL;
    const char *first = inputs[0];
    char *stem;

    if (manifest) {
        struct binding *bs = NULL;
        char **incs = NULL;
        int nb = 0, ninc = 0;
        for (int i = 0; i < ninputs; i++) { read_manifest(inputs[i], &bs, &nb, &incs, &ninc); dep_add(&deps, inputs[i]); }
        stem = xstrdup("bindings");
        outs[nouts++].path = fmt("%s/bindings.gen.c", outdir);
        if (nerrors) { discard_outputs(); return 1; }
        struct buf b = { 0 };
        bputs(&b, "m4_divert(-1)\nm4_define(\xc2\xab" "EG_SRC\xc2\xbb, \xc2\xab");
        struct buf srcs = { 0 };
        for (int i = 0; i < ninputs; i++) bprintf(&srcs, "%s%s", i ? " " : "", inputs[i]);
        q(&b, srcs.s);
        bputs(&b, "\xc2\xbb)\nm4_define(\xc2\xab" "EG_ALL\xc2\xbb, \xc2\xab");
        for (int i = 0; i < ninc; i++) { bputs(&b, "EG_INCLUDE("); q(&b, incs[i]); bputs(&b, ")"); }
        for (int i = 0; i < nb; i++) {
            bputs(&b, "EG_BIND("); q(&b, bs[i].id); bputs(&b, ", "); q(&b, bs[i].root); bputs(&b, ", ");
            q(&b, bs[i].only); bputs(&b, ")");
        }
        bputs(&b, "\xc2\xbb)\nm4_divert(0)m4_dnl\n");
        data = b.s;
        t1 = "bindings.c.m4";
    } else {
        const char *src = inputs[0];
        if (!strncmp(src, "./", 2)) src += 2;
        if (!include_as) include_as = src;
        const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
        size_t bl = strlen(base);
        if (bl > 6 && !strcmp(base + bl - 6, ".ebb.h")) stem = fmt("%.*s", (int)(bl - 6), base);
        else if (bl > 2 && !strcmp(base + bl - 2, ".h")) stem = fmt("%.*s", (int)(bl - 2), base);
        else stem = xstrdup(base);
        outs[nouts++].path = fmt("%s/%s.gen.h", outdir, stem);
        outs[nouts++].path = fmt("%s/%s.gen.c", outdir, stem);
        if (!ident_ok(src) || !ident_ok(include_as)) {
            fprintf(stderr, "%s:1:1: error: file name not usable for generated names\n", src);
            discard_outputs();
            return 1;
        }
        struct stat st;
        if (stat(src, &st) < 0) {
            fprintf(stderr, "%s:1:1: error: cannot read: %s\n", src, strerror(errno));
            discard_outputs();
            return 1;
        }
        CXIndex idx = clang_createIndex(0, 0);
        CXTranslationUnit tu = NULL;
        enum CXErrorCode ec = clang_parseTranslationUnit2(idx, src, cargs, ncargs, NULL, 0,
                                                          CXTranslationUnit_SkipFunctionBodies, &tu);
        if (ec != CXError_Success || !tu) {
            fprintf(stderr, "%s:1:1: error: clang could not parse the file (code %d)\n", src, (int)ec);
            discard_outputs();
            return 1;
        }
        unsigned nd = clang_getNumDiagnostics(tu);
        for (unsigned i = 0; i < nd; i++) {
            CXDiagnostic d = clang_getDiagnostic(tu, i);
            enum CXDiagnosticSeverity sev = clang_getDiagnosticSeverity(d);
            CXFile df;
            clang_getExpansionLocation(clang_getDiagnosticLocation(d), &df, NULL, NULL, NULL);
            bool here = df && clang_File_isEqual(df, clang_getFile(tu, src));
            if (sev >= CXDiagnostic_Error || (sev == CXDiagnostic_Warning && here)) {
                CXString s = clang_formatDiagnostic(d, CXDiagnostic_DisplaySourceLocation | CXDiagnostic_DisplayColumn);
                fprintf(stderr, "%s\n", clang_getCString(s));
                clang_disposeString(s);
            }
            if (sev >= CXDiagnostic_Error) nerrors++;
            clang_disposeDiagnostic(d);
        }
        if (nerrors) { discard_outputs(); return 1; }
        clang_visitChildren(clang_getTranslationUnitCursor(tu), top_visit, NULL);
        if (!nerrors && nifaces == 0) error_at(src, 1, 1, "no interface: mark a struct with EBB_INTERFACE(kind)");
        if (nerrors) { discard_outputs(); return 1; }
        for (int i = 0; i < nifaces; i++) hash_iface(&ifaces[i]);
        dep_add(&deps, src);
        clang_getInclusions(tu, incl_visit, &deps);
        data = iface_data(src, include_as, stem);
        t1 = "iface.h.m4";
        t2 = "iface.c.m4";
        first = src;
    }
    dep_add(&deps, fmt("%s/lib.m4", tdir));
    dep_add(&deps, fmt("%s/%s", tdir, t1));
    if (t2) dep_add(&deps, fmt("%s/%s", tdir, t2));

    if (write_data(outdir, data, &datapath) < 0) { discard_outputs(); return 1; }
    const char *tmpls[2] = { t1, t2 };
    for (int i = 0; i < nouts; i++) {
        char *raw = run_m4(datapath, tmpls[i]);
        outs[i].text = raw ? finish(raw, outs[i].path, tmpls[i]) : NULL;
        if (!outs[i].text) { if (!getenv("EBBGEN_KEEP")) unlink(datapath); discard_outputs(); return 1; }
    }
    if (!getenv("EBBGEN_KEEP")) /* EBBGEN_KEEP=1: keep the m4 data, to debug a template */
        unlink(datapath);
    if (md) {
        outs[nouts].path = mf ? xstrdup(mf) : fmt("%s/%s.gen.d", outdir, stem);
        outs[nouts].text = depfile_text(&deps, first);
        nouts++;
    }
    return commit_outputs() < 0 ? 1 : 0;
}
