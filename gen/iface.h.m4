m4_divert(-1)
# The header generated for x.ebb.h: per interface its hash, method ids, root macros and typed call
# wrappers (the fast path, inlined), and the client stubs of its remote methods.

# Parameter lists: declarations and arguments.
m4_define(«EG_P_DECL», «, $6«»»)
m4_define(«EG_P_ARG», «, $2«»»)
m4_define(«EG_DECLS», «EG_WITH(«EG_P», «EG_P_DECL», «$1»)»)
m4_define(«EG_ARGS», «EG_WITH(«EG_P», «EG_P_ARG», «$1»)»)

m4_define(«EG_M_ENUM», «    EG_U«»_METHOD_$2 = $3,
»)

# The fast path: one slot load, a test, a predicted branch, the call. #line points a C error in
# the call at the method's declaration.
m4_define(«EG_M_WRAP», «
static inline $4 EG_I«»_$1(ebb_id_t ebb_id_«»EG_DECLS(«$8»))
{
    void *ebb_r_ = ebb_rep(ebb_id_, EG_U«»_IFACE);
#line $7 "EG_SRC"
    m4_ifelse(«$5», «1», «», «return »)EBB_OPS(ebb_r_, struct EG_I)->$1(ebb_r_«»EG_ARGS(«$8»));
#line @
}
»)

m4_define(«EG_M_STUB», «m4_ifelse(«$6», «1», «
/* $1 on the rep of ebb_id_ on node ebb_node_, through the Messenger: the future gets
 * its result (converted to uint64_t) or an error (EBADMSG, EPROTO, ENOENT, ECONNRESET, ...). */
ebb_future_t EG_I«»_$1_at(unsigned ebb_node_, ebb_id_t ebb_id_«»EG_DECLS(«$8»));
»)»)

m4_define(«EG_IFACE», «m4_define(«EG_I», «$1»)m4_define(«EG_U», «$2»)
/* ---- struct $1 (EG_SRC:$5) ---- */

#define $2_IFACE UINT64_C($3)

enum $1_method {
EG_WITH(«EG_METHOD», «EG_M_ENUM», «$6»)m4_dnl
    $2_NMETHODS
};

/* Defines `struct ebb_root var_` (prefix it with static if you like), whose reps
 * create_(root, core) builds. */
#define $2_ROOT(var_, create_) $2_ROOT_KIND(var_, $4, create_)
#define $2_ROOT_KIND(var_, kind_, create_) \
    struct ebb_root var_ = { .name = #var_, .iface = $2_IFACE, .kind = (kind_), \
                             .create_rep = (create_) }

/* This core's rep of id (built by its root on the first call from this core). */
static inline void *$1_rep(ebb_id_t ebb_id_) { return ebb_rep(ebb_id_, $2_IFACE); }
EG_WITH(«EG_METHOD», «EG_M_WRAP», «$6»)m4_dnl
m4_ifelse(«$7», «0», «», «EG_WITH(«EG_METHOD», «EG_M_STUB», «$6»)
/* Serves a call that arrived through the Messenger (registered with it by the generated code). */
int $1_dispatch(ebb_id_t ebb_id_, unsigned ebb_method_, uint8_t *ebb_a_, size_t ebb_n_,
                struct iobuf **ebb_reply_);
»)»)
m4_divert(0)m4_dnl
EG_BANNER(EG_SRC)
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "core/ebb.h"
#include "core/future.h"
#include "EG_INCLUDE_AS"

struct iobuf;
EG_ALL
