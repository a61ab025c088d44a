/* ebbgen: reading Ebb interfaces from libclang's AST into the model of gen/ebbgen.h, with every
 * check of what the generator can and cannot do (each error at its file:line:col). */
#include "ebbgen.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const pkind_name[] = { "any", "val", "bool", "in", "out", "inout", "str" };
struct iface *ifaces;
int nifaces;

/* ---- reading the AST ---- */

char *str_of(CXString s)
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

int read_interfaces(CXTranslationUnit tu)
{
    clang_visitChildren(clang_getTranslationUnitCursor(tu), top_visit, NULL);
    if (!nerrors)
        claim_names();
    for (int i = 0; !nerrors && i < nifaces; i++)
        hash_iface(&ifaces[i]);
    return nerrors;
}
