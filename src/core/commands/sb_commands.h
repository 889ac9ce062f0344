/* Typed commands applied in one group-committed write transaction. Each
 * checks everything it can refuse before its first write, so a refused
 * command leaves no trace while its batch-mates commit. */

#ifndef SB_COMMANDS_H
#define SB_COMMANDS_H

#include "domain/sb_domain.h"

/* the batch (sb_batch.c): apply n commands; results[i] answers cmds[i] */
int sb_apply_batch(sb_store_t *st, sb_batch_t *b, sb_cmd_t **cmds,
    sb_result_t *results, size_t n, sb_moved_t *moved);
/* the same, the commands taken by collect (up to cap) once the write
 * lock is held; *n says how many */
typedef size_t (*sb_collect_pt)(void *data, sb_cmd_t **cmds, size_t cap);
int sb_apply_collected(sb_store_t *st, sb_batch_t *b, sb_collect_pt collect,
    void *data, sb_cmd_t **cmds, sb_result_t *results, size_t cap,
    size_t *n, sb_moved_t *moved);

/* 1: the command may commit inside the store's reserve (issue 20) */
int sb_may_use_reserve(sb_cmd_type_t type);
/* 1: the command deletes what the user made, giving room back */
int sb_frees_room(sb_cmd_type_t type);

/* outcomes */
int sb_refuse(sb_ctx_t *cx, sb_refusal_t why);
int sb_refuse_about(sb_ctx_t *cx, sb_refusal_t why, const char *subject,
    int d0, int d1, int d2);

/* one command each */
int sb_apply_visitor_message(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_agent_message(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_webhook(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_let_go(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_transfer(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_tags(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_block(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_availability(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_seen(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_directory(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_fire(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_delivered(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_purge(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_hook_sent(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_hook_replay(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_pause(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_reconcile(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_apply_erase_visitor(sb_ctx_t *cx, const sb_cmd_t *cmd);

/* shared by the commands */
typedef struct {
    sb_channel_t  channel;
    const char   *visitor;
    sb_span_t     text, media;
    sb_span_t     account, contact, reply_to;     /* third parties */
    sb_key_t     *idem;                           /* or NULL */
} sb_visit_t;

int sb_visit(sb_ctx_t *cx, const char *group, const sb_visit_t *v,
    sb_outcome_t *outcome);
int sb_held_conversation(sb_ctx_t *cx, const sb_cmd_t *cmd,
    sb_conv_t **out);
int sb_load_actor(sb_ctx_t *cx, const sb_cmd_t *cmd, sb_agent_t **out);
int sb_channel_can(sb_ctx_t *cx, const sb_conv_t *c, unsigned cap);
int sb_keep_record(sb_ctx_t *cx, uint64_t conv, uint64_t seq,
    sb_span_t record);

#endif
