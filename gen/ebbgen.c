/* ebbgen: reads Ebb interfaces (annotated C structs in x.ebb.h) with libclang and writes their
 * glue through the m4 templates in gen/; also turns image manifests into static binding tables.
 * See docs/ebbgen.md. The C side finds and checks facts; the templates decide what C to write. */
#define _GNU_SOURCE
#include <clang-c/Index.h>
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

/* ---- small helpers ---- */

static int nerrors;

static void oom(void)
{
    fprintf(stderr, "ebbgen: out of memory\n");
    exit(2);
}

static void *xmalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        oom();
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        oom();
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        oom();
    return p;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    char *s;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0)
        oom();
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
struct buf {
    char *s;
    size_t n, cap;
};

static void bput(struct buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
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
    if (vasprintf(&s, f, ap) < 0)
        oom();
    va_end(ap);
    bputs(b, s);
    free(s);
}

/* A list of strings. */
struct strs {
    char **v;
    int n;
};

static void strs_add(struct strs *l, const char *s)
{
    l->v = xrealloc(l->v, sizeof *l->v * (size_t)(l->n + 1));
    l->v[l->n++] = xstrdup(s);
}

static bool strs_has(const struct strs *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s))
            return true;
    return false;
}

/* ---- the model ---- */

enum pkind { P_ANY, P_VAL, P_BOOL, P_IN, P_OUT, P_INOUT, P_STR };
static const char *pkind_name[] = { "any", "val", "bool", "in", "out", "inout", "str" };

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

static struct iface *ifaces;
static int nifaces;

/* ---- reading the AST ---- */

static char *str_of(CXString s)
{
    char *r = xstrdup(clang_getCString(s) ? clang_getCString(s) : "");
    clang_disposeString(s);
    return r;
}

static char *cursor_name(CXCursor c) { return str_of(clang_getCursorSpelling(c)); }
static char *type_name(CXType t) { return str_of(clang_getTypeSpelling(t)); }

static void loc_of(CXCursor c, const char **file, unsigned *line, unsigned *col)
{
    CXFile f;
    clang_getExpansionLocation(clang_getCursorLocation(c), &f, line, col, NULL);
    *file = str_of(clang_getFileName(f));
    if (!**file)
        *file = "?";
}

/* Annotations of a cursor, collected from its AnnotateAttr children. */
struct annots {
    char *v[8];
    int n;
};

static enum CXChildVisitResult annot_visit(CXCursor c, CXCursor parent, CXClientData d)
{
    (void)parent;
    struct annots *a = d;
    if (clang_getCursorKind(c) == CXCursor_AnnotateAttr && a->n < 8)
        a->v[a->n++] = cursor_name(c);
    return CXChildVisit_Continue;
}

static struct annots annots_of(CXCursor c)
{
    struct annots a = { .n = 0 };
    clang_visitChildren(c, annot_visit, &a);
    return a;
}

struct cursors {
    CXCursor *v;
    int n;
};

static void cursors_add(struct cursors *cs, CXCursor c)
{
    cs->v = xrealloc(cs->v, sizeof *cs->v * (size_t)(cs->n + 1));
    cs->v[cs->n++] = c;
}

static enum CXVisitorResult field_collect(CXCursor c, CXClientData d)
{
    cursors_add(d, c);
    return CXVisit_Continue;
}

static struct cursors fields_of(CXType record)
{
    struct cursors cs = { 0 };
    clang_Type_visitFields(record, field_collect, &cs);
    return cs;
}

/* ---- types ---- */

static bool is_integer_kind(enum CXTypeKind k)
{
    bool unsig = k >= CXType_Char_U && k <= CXType_ULongLong && k != CXType_Char16
              && k != CXType_Char32;
    return unsig || (k >= CXType_Char_S && k <= CXType_LongLong) || k == CXType_Enum;
}

static bool is_scalar(CXType t)
{
    enum CXTypeKind k = clang_getCanonicalType(t).kind;
    return is_integer_kind(k) || k == CXType_Bool || k == CXType_Float || k == CXType_Double;
}

static bool is_array(CXType t)
{
    enum CXTypeKind k = clang_getCanonicalType(t).kind;
    return k == CXType_ConstantArray || k == CXType_IncompleteArray
        || k == CXType_VariableArray || k == CXType_DependentSizedArray;
}

/* A struct that can cross the wire: scalars, arrays of them, and such structs. */
static bool copyable(CXType t, char **why)
{
    t = clang_getCanonicalType(t);
    if (is_scalar(t))
        return true;
    if (t.kind != CXType_Record)
        return false;
    if (clang_getCursorKind(clang_getTypeDeclaration(t)) != CXCursor_StructDecl) {
        *why = fmt("'%s' is a union", type_name(t));
        return false;
    }
    if (clang_Type_getSizeOf(t) < 0) {
        *why = fmt("'%s' is incomplete", type_name(t));
        return false;
    }
    struct cursors fs = fields_of(t);
    for (int i = 0; i < fs.n; i++) {
        CXType ft = clang_getCanonicalType(clang_getCursorType(fs.v[i]));
        while (ft.kind == CXType_ConstantArray)
            ft = clang_getCanonicalType(clang_getArrayElementType(ft));
        if (!copyable(ft, why)) {
            if (!*why)
                *why = fmt("field '%s' is a %s", cursor_name(fs.v[i]), type_name(ft));
            return false;
        }
    }
    return true;
}

/* Has bytes that belong to no field (padding), or bit-fields: cannot be sent as its bytes. */
static bool padded(CXType t)
{
    t = clang_getCanonicalType(t);
    if (t.kind == CXType_ConstantArray)
        return padded(clang_getArrayElementType(t));
    if (t.kind != CXType_Record)
        return false;
    struct cursors fs = fields_of(t);
    long long sum = 0;
    for (int i = 0; i < fs.n; i++) {
        CXType ft = clang_getCursorType(fs.v[i]);
        if (clang_Cursor_isBitField(fs.v[i]) || padded(ft))
            return true;
        sum += clang_Type_getSizeOf(ft);
    }
    return sum != clang_Type_getSizeOf(t);
}

#define MAX_FIELDS 256

/* The expressions (from path) of the parts of a padded value that hold no padding. */
static void flatten(CXType t, const char *path, struct strs *out, char **why)
{
    t = clang_getCanonicalType(t);
    if (*why)
        return;
    if (out->n >= MAX_FIELDS) {
        *why = fmt("it has more than %d fields around its padding", MAX_FIELDS);
    } else if (!padded(t)) {
        strs_add(out, path);
    } else if (t.kind == CXType_ConstantArray) {
        for (long long i = 0; i < clang_getNumElements(t); i++)
            flatten(clang_getArrayElementType(t), fmt("%s[%lld]", path, i), out, why);
    } else {
        struct cursors fs = fields_of(t);
        for (int i = 0; i < fs.n; i++) {
            char *name = cursor_name(fs.v[i]);
            if (clang_Cursor_isBitField(fs.v[i]))
                *why = fmt("field '%s' is a bit-field of a struct with padding", name);
            else if (!name[0])
                *why = fmt("a struct with padding has an unnamed member");
            else
                flatten(clang_getCursorType(fs.v[i]), fmt("%s.%s", path, name), out, why);
        }
    }
}

static bool ident_ok(const char *s)
{
    /* Text handed to m4 must not contain its quotes, '$' or names of template macros. */
    return !strstr(s, "\xc2\xab") && !strstr(s, "\xc2\xbb") && !strchr(s, '$')
        && !strstr(s, "m4_") && !strstr(s, "EG_");
}

static char *upper(const char *s)
{
    char *u = xstrdup(s);
    for (char *p = u; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p -= 32;
    return u;
}

static void drop_qualifiers(char *type)
{
    for (;;) {
        if (!strncmp(type, "const ", 6))
            memmove(type, type + 6, strlen(type + 6) + 1);
        else if (!strncmp(type, "volatile ", 9))
            memmove(type, type + 9, strlen(type + 9) + 1);
        else
            return;
    }
}

/* How generated code declares the parameter. An array parameter is the pointer it stands for;
 * a type such as int (*)(int) cannot be written before the name. */
static char *decl_of(struct param *p, CXType t)
{
    if (is_array(t))
        return fmt("%s *%s", type_name(clang_getArrayElementType(t)), p->name);
    if (clang_getCanonicalType(t).kind == CXType_Pointer && strchr(p->type, '['))
        return fmt("%s *%s", type_name(clang_getPointeeType(t)), p->name);
    if (strpbrk(p->type, "(["))
        return fmt("__typeof__(%s) %s", p->type, p->name);
    if (p->type[strlen(p->type) - 1] == '*')
        return fmt("%s%s", p->type, p->name);
    return fmt("%s %s", p->type, p->name);
}

/* ---- parameters ---- */

static void buffer_annotations(struct param *p, CXCursor c)
{
    struct annots a = annots_of(c);
    for (int i = 0; i < a.n; i++) {
        const char *v = a.v[i];
        enum pkind k = !strncmp(v, "ebb:in:", 7)      ? P_IN
                     : !strncmp(v, "ebb:out:", 8)     ? P_OUT
                     : !strncmp(v, "ebb:inout:", 10)  ? P_INOUT
                     : !strcmp(v, "ebb:string")       ? P_STR
                                                      : P_ANY;
        if (k == P_ANY)
            continue;
        if (p->kind != P_ANY) {
            error_at(p->file, p->line, p->col, "parameter '%s' has two buffer annotations",
                     p->name);
            continue;
        }
        p->kind = k;
        if (k != P_STR)
            p->len = xstrdup(strchr(v + 4, ':') + 1);
    }
}

/* A pointer parameter of a remote method: a buffer or a string, with its element size. */
static void remote_pointer(struct param *p, const struct method *m, CXType t)
{
    CXType pt = clang_getPointeeType(t);
    CXType pct = clang_getCanonicalType(pt);
    char *why = NULL;
    if (p->kind == P_ANY) {
        error_at(p->file, p->line, p->col, "pointer parameter '%s' of remote method '%s' needs "
                 "EBB_IN(len), EBB_OUT(len), EBB_INOUT(len) or EBB_STRING", p->name, m->name);
    } else if (p->kind == P_STR) {
        if (pct.kind != CXType_Char_S && pct.kind != CXType_Char_U)
            error_at(p->file, p->line, p->col, "EBB_STRING parameter '%s' must be a char pointer",
                     p->name);
    } else if ((p->kind == P_OUT || p->kind == P_INOUT) && clang_isConstQualifiedType(pt)) {
        error_at(p->file, p->line, p->col, "EBB_%s parameter '%s' points to const",
                 p->kind == P_OUT ? "OUT" : "INOUT", p->name);
    } else if (pct.kind == CXType_Void) {
        p->esize = xstrdup("1");
    } else if (copyable(pct, &why) && clang_Type_getAlignOf(pct) <= 8) {
        p->esize = fmt("sizeof(%s)", type_name(pt));
    } else {
        error_at(p->file, p->line, p->col, "parameter '%s' of remote method '%s': ebbgen cannot "
                 "copy elements of type %s%s%s", p->name, m->name, type_name(pt),
                 why ? ": " : "", why ? why : "");
    }
}

/* A parameter of a remote method must cross the wire: classify it for the templates. */
static void remote_param(struct param *p, const struct method *m, CXType t)
{
    CXType ct = clang_getCanonicalType(t);
    char *why = NULL;
    if (is_array(t) || strchr(p->type, '[')) {
        error_at(p->file, p->line, p->col, "parameter '%s' of remote method '%s' is an array: "
                 "pass a pointer annotated EBB_IN(len)", p->name, m->name);
    } else if (ct.kind == CXType_Bool) {
        p->kind = P_BOOL;
    } else if (is_scalar(ct)) {
        p->kind = P_VAL;
    } else if (ct.kind == CXType_Record && !copyable(ct, &why)) {
        error_at(p->file, p->line, p->col, "parameter '%s' of remote method '%s': ebbgen cannot "
                 "copy %s by value%s%s", p->name, m->name, p->type, why ? ": " : "",
                 why ? why : "");
    } else if (ct.kind == CXType_Record) {
        p->kind = P_VAL;
        if (padded(ct))
            flatten(ct, p->name, &p->fields, &why);
        if (why)
            error_at(p->file, p->line, p->col, "parameter '%s' of remote method '%s': ebbgen "
                     "cannot send %s without its padding: %s", p->name, m->name, p->type, why);
    } else if (ct.kind == CXType_Pointer) {
        remote_pointer(p, m, t);
    } else {
        error_at(p->file, p->line, p->col, "parameter '%s' of remote method '%s' has type %s, "
                 "which ebbgen cannot marshal", p->name, m->name, p->type);
    }
    /* Values are declared and filled in by the server routine. */
    if (p->kind == P_VAL || p->kind == P_BOOL)
        drop_qualifiers(p->type);
}

/* One parameter of a method (p[0] is self): checked, and classified for marshalling. */
static void add_param(struct method *m, CXCursor c)
{
    m->p = xrealloc(m->p, sizeof *m->p * (size_t)(m->np + 1));
    struct param *p = &m->p[m->np++];
    memset(p, 0, sizeof *p);
    p->name = cursor_name(c);
    loc_of(c, &p->file, &p->line, &p->col);
    CXType t = clang_getCursorType(c);
    p->type = type_name(t);
    p->integer = is_integer_kind(clang_getCanonicalType(t).kind);
    if (m->np == 1) {
        if (clang_getCanonicalType(t).kind != CXType_Pointer)
            error_at(p->file, p->line, p->col, "first parameter of method '%s' must be the rep "
                     "pointer (self)", m->name);
        return;
    }
    if (!p->name[0]) {
        error_at(p->file, p->line, p->col, "parameter %d of method '%s' has no name", m->np - 1,
                 m->name);
        return;
    }
    if (!strncmp(p->name, "ebb_", 4)) {
        error_at(p->file, p->line, p->col, "parameter name '%s': names starting with ebb_ are "
                 "reserved for generated code", p->name);
        return;
    }
    buffer_annotations(p, c);
    if (p->kind != P_ANY && clang_getCanonicalType(t).kind != CXType_Pointer) {
        error_at(p->file, p->line, p->col, "parameter '%s' has a buffer annotation but is not "
                 "a pointer", p->name);
        return;
    }
    if (m->remote)
        remote_param(p, m, t);
    p->decl = decl_of(p, t);
}

/* ---- methods and interfaces ---- */

static enum CXChildVisitResult collect_parms(CXCursor c, CXCursor parent, CXClientData d)
{
    (void)parent;
    if (clang_getCursorKind(c) == CXCursor_ParmDecl)
        cursors_add(d, c);
    return CXChildVisit_Continue;
}

/* The function type of a field, or an error: a method is a pointer to a prototyped,
 * non-variadic function. */
static bool method_type(struct method *m, const struct iface *f, CXCursor field, CXType *ft)
{
    CXType t = clang_getCanonicalType(clang_getCursorType(field));
    *ft = clang_getCanonicalType(clang_getPointeeType(t));
    if (t.kind != CXType_Pointer
        || (ft->kind != CXType_FunctionProto && ft->kind != CXType_FunctionNoProto)) {
        error_at(m->file, m->line, m->col, "member '%s' of interface '%s' is not a function "
                 "pointer", m->name, f->name);
        return false;
    }
    if (ft->kind == CXType_FunctionNoProto) {
        error_at(m->file, m->line, m->col, "method '%s' has no prototype: list its parameters",
                 m->name);
        return false;
    }
    if (clang_isFunctionTypeVariadic(*ft)) {
        error_at(m->file, m->line, m->col, "method '%s' is variadic", m->name);
        return false;
    }
    return true;
}

/* Each length names another, integer, parameter of the method. */
static void check_lengths(const struct method *m)
{
    for (int i = 1; i < m->np; i++) {
        const struct param *p = &m->p[i];
        if (!p->len)
            continue;
        int j = 1;
        while (j < m->np && strcmp(m->p[j].name, p->len))
            j++;
        if (j == m->np)
            error_at(p->file, p->line, p->col, "length '%s' of parameter '%s' is not a parameter "
                     "of method '%s'", p->len, p->name, m->name);
        else if (j == i || !m->p[j].integer)
            error_at(p->file, p->line, p->col, "length '%s' of parameter '%s' is not an integer "
                     "parameter", p->len, p->name);
    }
}

static void add_method(struct iface *f, CXCursor field)
{
    struct method m = { 0 };
    CXType ft;
    m.name = cursor_name(field);
    loc_of(field, &m.file, &m.line, &m.col);
    if (!method_type(&m, f, field, &ft))
        return;
    struct annots a = annots_of(field);
    for (int i = 0; i < a.n; i++)
        if (!strcmp(a.v[i], "ebb:remote"))
            m.remote = true;
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
        add_param(&m, cs.v[i]);
    if (nargs == 0) {
        error_at(m.file, m.line, m.col, "method '%s' has no parameters: the first must be the "
                 "rep pointer (self)", m.name);
        return;
    }
    if (m.np != nargs) {
        error_at(m.file, m.line, m.col, "method '%s' is declared through a typedef'd function "
                 "type: write the parameters in place", m.name);
        return;
    }
    if (m.remote && !m.is_void && !m.is_future && !is_integer_kind(rt.kind)
        && rt.kind != CXType_Bool)
        error_at(m.file, m.line, m.col, "remote method '%s' returns %s: a remote method returns "
                 "void, an integer, an enum, bool or ebb_future_t", m.name, m.ret);
    check_lengths(&m);
    for (int i = 0; i < m.np; i++)
        if (!ident_ok(m.p[i].type) || !ident_ok(m.p[i].name))
            error_at(m.p[i].file, m.p[i].line, m.p[i].col, "parameter '%s' uses a name reserved "
                     "by ebbgen's templates ($, m4_, EG_)", m.p[i].name);
    if (!ident_ok(m.name) || !ident_ok(m.ret))
        error_at(m.file, m.line, m.col, "method '%s' uses a name reserved by ebbgen's templates "
                 "($, m4_, EG_)", m.name);
    f->m = xrealloc(f->m, sizeof *f->m * (size_t)(f->nm + 1));
    f->m[f->nm++] = m;
}

static enum CXChildVisitResult field_of_iface(CXCursor c, CXCursor parent, CXClientData d)
{
    (void)parent;
    if (clang_getCursorKind(c) == CXCursor_FieldDecl)
        add_method(d, c);
    return CXChildVisit_Continue;
}

static const char *root_kind(const char *kind)
{
    return !strcmp(kind, "shared")     ? "EBB_SHARED"
         : !strcmp(kind, "per_core")   ? "EBB_PER_CORE"
         : !strcmp(kind, "per_node")   ? "EBB_PER_NODE"
                                       : NULL;
}

static enum CXChildVisitResult top_visit(CXCursor c, CXCursor parent, CXClientData d)
{
    (void)parent, (void)d;
    if (!clang_Location_isFromMainFile(clang_getCursorLocation(c))
        || clang_getCursorKind(c) != CXCursor_StructDecl || !clang_isCursorDefinition(c))
        return CXChildVisit_Continue;
    struct annots a = annots_of(c);
    const char *kind = NULL;
    for (int i = 0; i < a.n; i++)
        if (!strncmp(a.v[i], "ebb:interface:", 14))
            kind = a.v[i] + 14;
    if (!kind)
        return CXChildVisit_Continue;
    struct iface f = { 0 };
    f.name = cursor_name(c);
    loc_of(c, &f.file, &f.line, &f.col);
    if (!f.name[0] || clang_Cursor_isAnonymous(c)) {
        error_at(f.file, f.line, f.col, "an interface needs a struct tag");
        return CXChildVisit_Continue;
    }
    if (!(f.kind = (char *)root_kind(kind))) {
        error_at(f.file, f.line, f.col, "interface '%s': kind '%s' is not shared, per_core or "
                 "per_node", f.name, kind);
        return CXChildVisit_Continue;
    }
    if (!ident_ok(f.name) || !strcmp(f.name, "ebb") || !strncmp(f.name, "ebb_", 4))
        error_at(f.file, f.line, f.col, "interface name '%s' is reserved (ebb_ belongs to the "
                 "runtime, EG_ and m4_ to ebbgen's templates)", f.name);
    clang_visitChildren(c, field_of_iface, &f);
    if (f.nm == 0 && !nerrors)
        error_at(f.file, f.line, f.col, "interface '%s' has no methods", f.name);
    ifaces = xrealloc(ifaces, sizeof *ifaces * (size_t)(nifaces + 1));
    ifaces[nifaces++] = f;
    return CXChildVisit_Continue;
}

/* ---- names the generated code defines: none may be made twice ---- */

struct gname {
    char *name, *what;
    const char *file;
    unsigned line, col;
};
static struct gname *gnames;
static int ngnames;

static void claim(char *name, char *what, const char *file, unsigned line, unsigned col)
{
    for (int i = 0; i < ngnames; i++) {
        if (strcmp(gnames[i].name, name))
            continue;
        error_at(file, line, col, "%s would be generated as '%s', which is already %s (line %u)",
                 what, name, gnames[i].what, gnames[i].line);
        return;
    }
    gnames = xrealloc(gnames, sizeof *gnames * (size_t)(ngnames + 1));
    gnames[ngnames++] = (struct gname){ name, what, file, line, col };
}

static void claim_names(void)
{
    for (int i = 0; i < nifaces; i++) {
        const struct iface *f = &ifaces[i];
        char *u = upper(f->name), *w = fmt("interface '%s'", f->name);
        const char *suffixes[] = { "_IFACE", "_ROOT", "_ROOT_KIND", "_NMETHODS" };
        for (size_t k = 0; k < sizeof suffixes / sizeof *suffixes; k++)
            claim(fmt("%s%s", u, suffixes[k]), fmt("a macro of %s", w), f->file, f->line, f->col);
        claim(fmt("%s_rep", f->name), fmt("the rep accessor of %s", w), f->file, f->line, f->col);
        claim(fmt("%s_dispatch", f->name), fmt("the dispatcher of %s", w), f->file, f->line,
              f->col);
        claim(fmt("%s_methods_", f->name), fmt("the method table of %s", w), f->file, f->line,
              f->col);
        for (int j = 0; j < f->nm; j++) {
            const struct method *m = &f->m[j];
            char *mw = fmt("method '%s' of %s", m->name, w);
            claim(fmt("%s_METHOD_%s", u, upper(m->name)), fmt("the id of %s", mw), m->file,
                  m->line, m->col);
            claim(fmt("%s_%s", f->name, m->name), fmt("the call wrapper of %s", mw), m->file,
                  m->line, m->col);
            if (!m->remote)
                continue;
            claim(fmt("%s_%s_at", f->name, m->name), fmt("the remote stub of %s", mw), m->file,
                  m->line, m->col);
            claim(fmt("%s_%s_serve_", f->name, m->name), fmt("the server of %s", mw), m->file,
                  m->line, m->col);
            claim(fmt("%s_%s_unpack_", f->name, m->name), fmt("the unpacker of %s", mw), m->file,
                  m->line, m->col);
        }
    }
}

/* FNV-1a over a canonical signature: what both ends of a message must agree on. */
static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

static void hash_iface(struct iface *f)
{
    uint64_t h = fnv(0xcbf29ce484222325ull, "ebb2 ");
    h = fnv(h, f->name);
    for (int i = 0; i < f->nm; i++) {
        struct method *m = &f->m[i];
        h = fnv(h, fmt("|%s %s %s(", m->remote ? "remote" : "local", m->ret, m->name));
        for (int j = 1; j < m->np; j++) {
            struct param *p = &m->p[j];
            h = fnv(h, fmt("%s:%s:%s", p->type, pkind_name[p->kind], p->len ? p->len : ""));
            for (int k = 0; k < p->fields.n; k++)
                h = fnv(h, fmt(":%s", p->fields.v[k]));
            h = fnv(h, ",");
        }
        h = fnv(h, ")");
    }
    f->hash = h;
}

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

/* ---- manifests ---- */

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

/* Lines: `include "path.h"`, `bind ID ROOT [hosted|native]`, blank, or # comments. */
static void read_manifest(const char *file, struct manifest *mf)
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
    clang_visitChildren(clang_getTranslationUnitCursor(tu), top_visit, NULL);
    if (!nerrors && nifaces == 0)
        error_at(src, 1, 1, "no interface: mark a struct with EBB_INTERFACE(kind)");
    if (!nerrors)
        claim_names();
    if (nerrors)
        return NULL;
    for (int i = 0; i < nifaces; i++)
        hash_iface(&ifaces[i]);
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
