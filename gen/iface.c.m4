m4_divert(-1)
# The C file generated for x.ebb.h: for each remote method a client stub (marshals the arguments
# into an IOBuf, sends it, returns a future) and a server routine (bounds-checks, unmarshals,
# calls the local rep, marshals the reply); per interface a dispatcher registered with the
# Messenger. Wire format (docs/ebbgen.md): value parameters packed in order, then each buffer
# 8-aligned (a string has a 4-byte length first); a reply is the 8-byte result, then each
# output buffer 8-aligned.

m4_define(«EG_P_DECL», «, $6«»»)
m4_define(«EG_P_ARG», «, $2«»»)
m4_define(«EG_DECLS», «EG_WITH(«EG_P», «EG_P_DECL», «$1»)»)
m4_define(«EG_ARGS», «EG_WITH(«EG_P», «EG_P_ARG», «$1»)»)
m4_define(«EG_EACH», «EG_WITH(«EG_P», «$1», «$2»)»)
m4_define(«EG_COUNT», «(size_t)($1) * $2»)

# ---- client side ----
m4_define(«EG_C_SIZE», «m4_ifelse(«$3», «val», « + sizeof($1)», «$3», «bool», « + 1»)»)
m4_define(«EG_C_CHECK», «m4_ifelse(«$3», «in», «EG_C_CHECK1($@)», «$3», «inout», «EG_C_CHECK1($@)», «$3», «out», «EG_C_CHECK1($@)», «$3», «str», «
    size_t ebb_s_$2 = strlen($2) + 1;
    if (ebb_s_$2 > EBB_MSG_MAX)
        return ebb_future_failed(EMSGSIZE);»)»)
m4_define(«EG_C_CHECK1», «
    if (!ebb_msg_count_ok((int64_t)($4), $5, EBB_MSG_MAX))
        return ebb_future_failed(EMSGSIZE);»)
m4_define(«EG_C_BSIZE», «m4_ifelse(«$3», «in», «EG_C_BSIZE1($@)», «$3», «inout», «EG_C_BSIZE1($@)», «$3», «str», «
    ebb_n_ = EBB_MSG_ALIGN(ebb_n_) + 4 + ebb_s_$2;»)»)
m4_define(«EG_C_BSIZE1», «
    ebb_n_ = EBB_MSG_ALIGN(ebb_n_) + EG_COUNT($4, $5);»)
m4_define(«EG_C_RSIZE», «m4_ifelse(«$3», «out», «EG_C_RSIZE1($@)», «$3», «inout», «EG_C_RSIZE1($@)»)»)
m4_define(«EG_C_RSIZE1», «
    ebb_rn_ = EBB_MSG_ALIGN(ebb_rn_) + EG_COUNT($4, $5);»)
m4_define(«EG_C_PUT», «m4_ifelse(«$3», «val», «
    memcpy(ebb_q_, &$2, sizeof $2);
    ebb_q_ += sizeof $2;», «$3», «bool», «
    *ebb_q_++ = $2 ? 1 : 0;»)»)
m4_define(«EG_C_BPUT», «m4_ifelse(«$3», «in», «EG_C_BPUT1($@)», «$3», «inout», «EG_C_BPUT1($@)», «$3», «str», «
    ebb_q_ = ebb_p_ + EBB_MSG_ALIGN((size_t)(ebb_q_ - ebb_p_));
    ebb_msg_put_u32(ebb_q_, (uint32_t)ebb_s_$2);
    memcpy(ebb_q_ + 4, $2, ebb_s_$2);
    ebb_q_ += 4 + ebb_s_$2;»)»)
m4_define(«EG_C_BPUT1», «
    ebb_q_ = ebb_p_ + EBB_MSG_ALIGN((size_t)(ebb_q_ - ebb_p_));
    ebb_msg_copy(ebb_q_, $2, EG_COUNT($4, $5));
    ebb_q_ += EG_COUNT($4, $5);»)
m4_define(«EG_C_OUTF», «m4_ifelse(«$3», «out», «EG_C_OUTF1($@)», «$3», «inout», «EG_C_OUTF1($@)»)»)
m4_define(«EG_C_OUTF1», «
    void *$2;
    size_t $2_n;»)
m4_define(«EG_C_OUTSET», «m4_ifelse(«$3», «out», «EG_C_OUTSET1($@)», «$3», «inout», «EG_C_OUTSET1($@)»)»)
m4_define(«EG_C_OUTSET1», «
    ebb_o_->$2 = $2;
    ebb_o_->$2_n = EG_COUNT($4, $5);»)
m4_define(«EG_C_OUTGET», «m4_ifelse(«$3», «out», «EG_C_OUTGET1($@)», «$3», «inout», «EG_C_OUTGET1($@)»)»)
m4_define(«EG_C_OUTGET1», «
        ebb_off_ = EBB_MSG_ALIGN(ebb_off_);
        if (!ebb_err_ && !ebb_msg_need(ebb_n_, ebb_off_, ebb_o_->$2_n))
            ebb_err_ = EBADMSG;
        if (!ebb_err_) {
            ebb_msg_copy(ebb_o_->$2, ebb_p_ + ebb_off_, ebb_o_->$2_n);
            ebb_off_ += ebb_o_->$2_n;
        }»)

# The unpacker of a reply with output buffers: copies them to the caller's memory.
m4_define(«EG_M_UNPACK», «m4_ifelse(«$6$9», «11», «
struct EG_I«»_$1_outs_ {EG_EACH(«EG_C_OUTF», «$8»)
};

static int EG_I«»_$1_unpack_(void *ebb_arg_, int ebb_err_, const uint8_t *ebb_p_, size_t ebb_n_, uint64_t *ebb_v_)
{
    struct EG_I«»_$1_outs_ *ebb_o_ = ebb_arg_;
    if (!ebb_err_) {
        size_t ebb_off_ = 8;
        if (ebb_n_ < 8)
            ebb_err_ = EBADMSG;
        else
            memcpy(ebb_v_, ebb_p_, 8);EG_EACH(«EG_C_OUTGET», «$8»)
        if (!ebb_err_ && ebb_off_ != ebb_n_)
            ebb_err_ = EBADMSG;
    }
    free(ebb_o_);
    return ebb_err_;
}
»)»)

m4_define(«EG_M_STUB», «m4_ifelse(«$6», «1», «EG_M_UNPACK($@)
ebb_future_t EG_I«»_$1_at(unsigned ebb_node_, ebb_id_t ebb_id_«»EG_DECLS(«$8»))
{EG_EACH(«EG_C_CHECK», «$8»)
    size_t ebb_n_ = 0«»EG_EACH(«EG_C_SIZE», «$8»);EG_EACH(«EG_C_BSIZE», «$8»)
    if (ebb_n_ > EBB_MSG_MAX)
        return ebb_future_failed(EMSGSIZE);m4_ifelse(«$9», «1», «
    size_t ebb_rn_ = 8;EG_EACH(«EG_C_RSIZE», «$8»)
    if (ebb_rn_ > EBB_MSG_MAX) /* the reply could not carry the output buffers */
        return ebb_future_failed(EMSGSIZE);»)
    struct iobuf *ebb_b_ = ebb_msg_alloc(ebb_n_);
    if (!ebb_b_)
        return ebb_future_failed(ENOMEM);
    uint8_t *ebb_p_ = iobuf_append(ebb_b_, ebb_n_), *ebb_q_ = ebb_p_;
    memset(ebb_p_, 0, ebb_n_);EG_EACH(«EG_C_PUT», «$8»)EG_EACH(«EG_C_BPUT», «$8»)
    (void)ebb_q_;m4_ifelse(«$9», «1», «
    struct EG_I«»_$1_outs_ *ebb_o_ = malloc(sizeof *ebb_o_);
    if (!ebb_o_) {
        iobuf_free(ebb_b_);
        return ebb_future_failed(ENOMEM);
    }EG_EACH(«EG_C_OUTSET», «$8»)
    return ebb_messenger_call(ebb_node_, ebb_id_, EG_U«»_IFACE, EG_U«»_METHOD_$2, ebb_b_, EG_I«»_$1_unpack_, ebb_o_);», «
    return ebb_messenger_call(ebb_node_, ebb_id_, EG_U«»_IFACE, EG_U«»_METHOD_$2, ebb_b_, NULL, NULL);»)
}
»)»)

# ---- server side ----
m4_define(«EG_S_GET», «m4_ifelse(«$3», «val», «
    $6;
    memcpy(&$2, ebb_a_ + ebb_off_, sizeof $2);
    ebb_off_ += sizeof $2;», «$3», «bool», «
    $6 = ebb_a_[ebb_off_++] != 0;»)»)
m4_define(«EG_S_BGET», «m4_ifelse(«$3», «in», «EG_S_BGET1($@)», «$3», «inout», «EG_S_BGET1($@)», «$3», «str», «
    ebb_off_ = EBB_MSG_ALIGN(ebb_off_);
    if (!ebb_msg_need(ebb_n_, ebb_off_, 4))
        return -EBADMSG;
    uint32_t ebb_s_$2 = ebb_msg_get_u32(ebb_a_ + ebb_off_);
    ebb_off_ += 4;
    if (ebb_s_$2 == 0 || !ebb_msg_need(ebb_n_, ebb_off_, ebb_s_$2) || ebb_a_[ebb_off_ + ebb_s_$2 - 1] != 0)
        return -EBADMSG;
    $6 = (const char *)(ebb_a_ + ebb_off_);
    ebb_off_ += ebb_s_$2;»)»)
m4_define(«EG_S_BGET1», «
    ebb_off_ = EBB_MSG_ALIGN(ebb_off_);
    if (ebb_off_ > ebb_n_ || !ebb_msg_count_ok((int64_t)($4), $5, ebb_n_ - ebb_off_))
        return -EBADMSG;
    $6 = ($1)(void *)(ebb_a_ + ebb_off_);
    ebb_off_ += EG_COUNT($4, $5);»)
m4_define(«EG_S_RSIZE», «m4_ifelse(«$3», «out», «EG_S_RSIZE1($@)», «$3», «inout», «EG_S_RSIZE1($@)»)»)
m4_define(«EG_S_RSIZE1», «
    if (!ebb_msg_count_ok((int64_t)($4), $5, EBB_MSG_MAX))
        return -EBADMSG;
    ebb_rn_ = EBB_MSG_ALIGN(ebb_rn_) + EG_COUNT($4, $5);»)
m4_define(«EG_S_RSET», «m4_ifelse(«$3», «out», «
    ebb_roff_ = EBB_MSG_ALIGN(ebb_roff_);
    $6 = ($1)(void *)(ebb_q_ + ebb_roff_);
    ebb_roff_ += EG_COUNT($4, $5);», «$3», «inout», «
    ebb_roff_ = EBB_MSG_ALIGN(ebb_roff_);
    ebb_msg_copy(ebb_q_ + ebb_roff_, $2, EG_COUNT($4, $5));
    $2 = ($1)(void *)(ebb_q_ + ebb_roff_);
    ebb_roff_ += EG_COUNT($4, $5);»)»)

m4_define(«EG_M_SERVE», «m4_ifelse(«$6», «1», «
static int EG_I«»_$1_serve_(ebb_id_t ebb_id_, uint8_t *ebb_a_, size_t ebb_n_, struct iobuf **ebb_reply_)
{
    size_t ebb_off_ = 0;
    (void)ebb_a_;
    if (!ebb_msg_need(ebb_n_, 0, 0«»EG_EACH(«EG_C_SIZE», «$8»)))
        return -EBADMSG;EG_EACH(«EG_S_GET», «$8»)EG_EACH(«EG_S_BGET», «$8»)
    if (ebb_off_ != ebb_n_)
        return -EBADMSG;
    size_t ebb_rn_ = 8;EG_EACH(«EG_S_RSIZE», «$8»)
    if (ebb_rn_ > EBB_MSG_MAX)
        return -EBADMSG;
    struct iobuf *ebb_r_ = ebb_msg_alloc(ebb_rn_);
    if (!ebb_r_)
        return -ENOMEM;
    uint8_t *ebb_q_ = iobuf_append(ebb_r_, ebb_rn_);
    memset(ebb_q_, 0, ebb_rn_);m4_ifelse(«$9», «1», «
    size_t ebb_roff_ = 8;EG_EACH(«EG_S_RSET», «$8»)»)
    void *ebb_rep_ = ebb_rep(ebb_id_, EG_U«»_IFACE);
    m4_ifelse(«$5», «1», «EBB_OPS(ebb_rep_, struct EG_I)->$1(ebb_rep_«»EG_ARGS(«$8»));
    uint64_t ebb_v_ = 0;», «$5», «f», «uint64_t ebb_v_ = 0;
    /* Served asynchronously: this event waits (the Messenger serves each call as its own event). */
    int ebb_e_ = ebb_future_block(EBB_OPS(ebb_rep_, struct EG_I)->$1(ebb_rep_«»EG_ARGS(«$8»)), &ebb_v_);
    if (ebb_e_) {
        iobuf_free(ebb_r_);
        return -ebb_e_;
    }», «uint64_t ebb_v_ = (uint64_t)EBB_OPS(ebb_rep_, struct EG_I)->$1(ebb_rep_«»EG_ARGS(«$8»));»)
    memcpy(ebb_q_, &ebb_v_, 8);
    *ebb_reply_ = ebb_r_;
    return 0;
}
»)»)

m4_define(«EG_M_CASE», «m4_ifelse(«$6», «1», «
    case EG_U«»_METHOD_$2:
        return EG_I«»_$1_serve_(ebb_id_, ebb_a_, ebb_n_, ebb_reply_);»)»)

m4_define(«EG_IFACE», «m4_define(«EG_I», «$1»)m4_define(«EG_U», «$2»)m4_ifelse(«$7», «0», «», «
/* ---- struct $1: client stubs ---- */
EG_WITH(«EG_METHOD», «EG_M_STUB», «$6»)
/* ---- struct $1: server ---- */
EG_WITH(«EG_METHOD», «EG_M_SERVE», «$6»)
int $1_dispatch(ebb_id_t ebb_id_, unsigned ebb_method_, uint8_t *ebb_a_, size_t ebb_n_,
                struct iobuf **ebb_reply_)
{
    switch (ebb_method_) {EG_WITH(«EG_METHOD», «EG_M_CASE», «$6»)
    default:
        return -ENOSYS;
    }
}
EBB_MSG_SERVICE($1, $2_IFACE, $1_dispatch);
»)»)
m4_divert(0)m4_dnl
EG_BANNER(EG_SRC)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "EG_STEM.gen.h"
#include "core/iobuf.h"
#include "core/messenger.h"
EG_ALL
