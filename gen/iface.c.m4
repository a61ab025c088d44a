m4_divert(-1)
# The C file generated for x.ebb.h: for each remote method a client stub (writes the arguments,
# sends them, returns a future) and a server routine (reads them, calls the local rep, writes the
# reply); per interface the table of its methods, registered with the Messenger. The wire rules
# live in core/msg_stub.c (docs/ebbgen.md): values in order, a struct with padding field by field,
# then the buffers.

m4_define(«EG_P_DECL», «, $6«»»)
m4_define(«EG_P_ARG», «, $2«»»)
m4_define(«EG_DECLS», «EG_WITH(«EG_P», «EG_P_DECL», «$1»)»)
m4_define(«EG_ARGS», «EG_WITH(«EG_P», «EG_P_ARG», «$1»)»)
m4_define(«EG_EACH», «EG_WITH(«EG_P», «$1», «$2»)»)
# A buffer's element count and size, as ebb_msg_*_buf take them.
m4_define(«EG_N», «(uint64_t)($4), $5»)

# ---- client side ----
m4_define(«EG_C_VAL», «m4_ifelse(«$3», «val», «m4_ifelse(«$7», «», «
    ebb_put(&ebb_w_, &$2, sizeof $2);», «EG_WITH(«EG_F», «EG_C_FIELD», «$7»)»)», «$3», «bool», «
    ebb_put_u8(&ebb_w_, $2);»)»)
m4_define(«EG_C_FIELD», «
    ebb_put(&ebb_w_, &$1, sizeof $1);»)
m4_define(«EG_C_BUF», «m4_ifelse(«$3», «in», «
    ebb_msg_put_buf(&ebb_w_, $2, EG_N($@));», «$3», «inout», «
    ebb_msg_put_buf(&ebb_w_, $2, EG_N($@));», «$3», «str», «
    ebb_msg_put_str(&ebb_w_, $2);»)»)
# Output buffers (out and inout) only.
m4_define(«EG_IF_OUT», «m4_ifelse(«$1», «out», «$2», «$1», «inout», «$2»)»)
m4_define(«EG_C_OUTF», «EG_IF_OUT(«$3», «EG_C_OUTF1($@)»)»)
m4_define(«EG_C_OUTF1», «
    $6;
    uint64_t ebb_n_$2;»)
m4_define(«EG_C_OUTSET», «EG_IF_OUT(«$3», «EG_C_OUTSET1($@)»)»)
m4_define(«EG_C_OUTSET1», «EG_SEP«»$2, (uint64_t)($4)»)
# A comma before every item but the first.
m4_define(«EG_SEP_RESET», «m4_define(«EG_SEP», «m4_define(«EG_SEP», «, »)»)»)
m4_define(«EG_C_OUTGET», «EG_IF_OUT(«$3», «EG_C_OUTGET1($@)»)»)
m4_define(«EG_C_OUTGET1», «
        ebb_msg_get_out(&ebb_r_, ebb_o_->$2, ebb_o_->ebb_n_$2, $5);»)

# The output buffers a reply carries back: where they go, and their unpacker.
m4_define(«EG_M_UNPACK», «m4_ifelse(«$6$9», «11», «
struct EG_I«»_$1_outs_ {EG_EACH(«EG_C_OUTF», «$8»)
};

static int EG_I«»_$1_unpack_(void *ebb_arg_, int ebb_err_, const uint8_t *ebb_p_,
EG_PAD(«static int »EG_I«_$1_unpack_(»)size_t ebb_n_, uint64_t *ebb_v_)
{
    struct EG_I«»_$1_outs_ *ebb_o_ = ebb_arg_;
    struct ebb_reader ebb_r_;
    ebb_msg_reply_begin(&ebb_r_, ebb_p_, ebb_n_, ebb_v_);
    if (!ebb_err_) {EG_EACH(«EG_C_OUTGET», «$8»)
        ebb_err_ = ebb_reader_done(&ebb_r_) ? 0 : EBADMSG;
    }
    free(ebb_o_);
    return ebb_err_;
}
»)»)

m4_define(«EG_M_STUB», «m4_ifelse(«$6», «1», «EG_M_UNPACK($@)
ebb_future_t EG_I«»_$1_at(unsigned ebb_node_, ebb_id_t ebb_id_«»EG_DECLS(«$8»))
{
    struct ebb_writer ebb_w_;
    ebb_msg_writer(&ebb_w_);EG_EACH(«EG_C_VAL», «$8»)EG_EACH(«EG_C_BUF», «$8»)m4_ifelse(«$9», «1», «
    struct EG_I«»_$1_outs_ *ebb_o_ = malloc(sizeof *ebb_o_);
    if (ebb_o_)
        *ebb_o_ = (struct EG_I«»_$1_outs_){ EG_SEP_RESET«»EG_EACH(«EG_C_OUTSET», «$8») };
    return ebb_msg_call(ebb_node_, ebb_id_, EG_U«»_IFACE, EG_U«»_METHOD_$2, &ebb_w_,
                        EG_I«»_$1_unpack_, ebb_o_);», «
    return ebb_msg_call(ebb_node_, ebb_id_, EG_U«»_IFACE, EG_U«»_METHOD_$2, &ebb_w_,
                        NULL, NULL);»)
}
»)»)

# ---- server side ----
m4_define(«EG_S_VAL», «m4_ifelse(«$3», «val», «
    $6;m4_ifelse(«$7», «», «
    ebb_get(ebb_a_, &$2, sizeof $2);», «EG_WITH(«EG_F», «EG_S_FIELD», «$7»)»)», «$3», «bool», «
    $6 = ebb_get_u8(ebb_a_) != 0;»)»)
m4_define(«EG_S_FIELD», «
    ebb_get(ebb_a_, &$1, sizeof $1);»)
m4_define(«EG_S_BUF», «m4_ifelse(«$3», «in», «
    $6 = ebb_msg_get_buf(ebb_a_, EG_N($@));», «$3», «str», «
    $6 = ebb_msg_get_str(ebb_a_);», «$3», «out», «
    size_t ebb_o_$2 = ebb_msg_put_out(ebb_r_, EG_N($@));», «$3», «inout», «
    size_t ebb_o_$2 = ebb_msg_get_inout(ebb_a_, ebb_r_, EG_N($@));»)»)
m4_define(«EG_S_OUT», «EG_IF_OUT(«$3», «EG_S_OUT1($@)»)»)
m4_define(«EG_S_OUT1», «
    $6 = ebb_msg_at(ebb_r_, ebb_o_$2);»)
m4_define(«EG_S_CALL», «ebb_ops_->$1(ebb_rep_«»EG_ARGS(«$8»))»)

m4_define(«EG_M_SERVE», «m4_ifelse(«$6», «1», «
static int EG_I«»_$1_serve_(ebb_id_t ebb_id_, struct ebb_reader *ebb_a_,
EG_PAD(«static int »EG_I«_$1_serve_(»)struct ebb_writer *ebb_r_)
{EG_EACH(«EG_S_VAL», «$8»)EG_EACH(«EG_S_BUF», «$8»)
    if (!ebb_msg_args_ok(ebb_a_, ebb_r_))
        return -EBADMSG;EG_EACH(«EG_S_OUT», «$8»)
    void *ebb_rep_ = ebb_rep(ebb_id_, EG_U«»_IFACE);
    const struct EG_I *ebb_ops_ = EBB_OPS(ebb_rep_, struct EG_I);
    m4_ifelse(«$5», «1», «EG_S_CALL($@);
    return 0;»,
              «$5», «f», «return ebb_msg_result_future(ebb_r_, EG_S_CALL($@));»,
              «return ebb_msg_result(ebb_r_, (uint64_t)EG_S_CALL($@));»)
}
»)»)

m4_define(«EG_M_ROW», «m4_ifelse(«$6», «1», «
    [EG_U«»_METHOD_$2] = { "$1", EG_I«»_$1_serve_ },»)»)

m4_define(«EG_IFACE», «m4_define(«EG_I», «$1»)m4_define(«EG_U», «$2»)m4_ifelse(«$7», «0», «», «
/* ---- struct $1: client stubs ---- */
EG_WITH(«EG_METHOD», «EG_M_STUB», «$6»)
/* ---- struct $1: server ---- */
EG_WITH(«EG_METHOD», «EG_M_SERVE», «$6»)
static const struct ebb_msg_method $1_methods_[$2_NMETHODS] = {m4_dnl
EG_WITH(«EG_METHOD», «EG_M_ROW», «$6»)
};

int $1_dispatch(ebb_id_t ebb_id_, unsigned ebb_method_, uint8_t *ebb_a_, size_t ebb_n_,
                struct iobuf **ebb_reply_)
{
    return ebb_msg_dispatch("$1", $1_methods_, $2_NMETHODS,
                            ebb_id_, ebb_method_, ebb_a_, ebb_n_, ebb_reply_);
}
EBB_MSG_SERVICE($1, $2_IFACE, $1_dispatch);
»)»)
m4_divert(0)m4_dnl
EG_BANNER(EG_SRC)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include "EG_STEM.gen.h"
#include "core/messenger.h"
EG_ALL
