/* Records inside a write transaction: agents and conversations as JSON
 * rows, thread entries, per-owner event logs and derived agent status. */

#include <stdio.h>
#include <string.h>

#include "sb_internal.h"


int64_t
sb_get_int(json_t *o, const char *name)
{
    json_t  *v = json_object_get(o, name);

    return json_is_integer(v) ? (int64_t) json_integer_value(v) : 0;
}


const char *
sb_get_str(json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}


/* 1 when o.name is the string value; absent fields are not. */
int
sb_str_is(json_t *o, const char *name, const char *value)
{
    const char  *s = sb_get_str(o, name);

    return s != NULL && strcmp(s, value) == 0;
}


void
sb_set_time(json_t *o, const char *name, int64_t ms)
{
    json_object_set_new(o, name, ms ? json_integer(ms) : json_null());
}


/* Stored times are milliseconds; the API shows RFC 3339 UTC. */
json_t *
sb_time_json(json_t *v)
{
    char  buf[40];

    if (!json_is_integer(v) || json_integer_value(v) == 0) {
        return json_null();
    }
    sb_format_time(json_integer_value(v), buf, sizeof(buf));
    return json_string(buf);
}


void
sb_agent_owner(const char *agent, char *buf, size_t len)
{
    snprintf(buf, len, "a:%s", agent);
}


void
sb_visitor_owner(const char *channel, const char *visitor, char *buf,
    size_t len)
{
    snprintf(buf, len, "v:%s:%s", channel, visitor);
}


int
sb_agent_load(sb_ctx_t *cx, const char *id, json_t **out)
{
    sb_key_t  k;

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, id);
    return sb_rec_get(cx->txn, cx->st->db[SB_DB_AGENT], &k, out);
}


int
sb_agent_save(sb_ctx_t *cx, json_t *agent)
{
    sb_key_t  k;

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, sb_get_str(agent, "id"));
    return sb_rec_put(cx->txn, cx->st->db[SB_DB_AGENT], &k, agent);
}


int
sb_conv_load(sb_ctx_t *cx, const char *id, json_t **out)
{
    sb_key_t  k;

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, id);
    return sb_rec_get(cx->txn, cx->st->db[SB_DB_CONV], &k, out);
}


int
sb_conv_save(sb_ctx_t *cx, json_t *conv)
{
    sb_key_t  k;

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, sb_get_str(conv, "id"));
    return sb_rec_put(cx->txn, cx->st->db[SB_DB_CONV], &k, conv);
}


int
sb_agent_capacity(const sb_config_t *cfg, json_t *agent, int k)
{
    json_t  *v;

    v = json_object_get(json_object_get(agent, "capacity"),
                        cfg->classes[k].name);
    return json_is_integer(v) ? (int) json_integer_value(v)
                              : cfg->classes[k].capacity;
}


int
sb_agent_used(const sb_config_t *cfg, json_t *agent, int k)
{
    return (int) json_array_size(
        json_object_get(json_object_get(agent, "held"),
                        cfg->classes[k].name));
}


/* R5a: present while polling; availability counts as a poll. */
int
sb_agent_present(const sb_config_t *cfg, json_t *agent, int64_t now)
{
    return now - sb_get_int(agent, "seen_at") <= cfg->presence_timeout_ms;
}


int
sb_agent_available(const sb_config_t *cfg, json_t *agent, int k)
{
    return json_is_true(json_object_get(json_object_get(agent, "available"),
                                        cfg->classes[k].name));
}


/* R5: green, orange or red for one class; away counts as red. */
json_t *
sb_agent_class_view(const sb_config_t *cfg, json_t *agent, int k, int64_t now)
{
    int          avail, used, cap;
    const char  *status;

    avail = sb_agent_available(cfg, agent, k);
    used = sb_agent_used(cfg, agent, k);
    cap = sb_agent_capacity(cfg, agent, k);

    if (!avail || !sb_agent_present(cfg, agent, now)) {
        status = "red";
    } else if (used >= cap) {
        status = "orange";
    } else {
        status = "green";
    }
    return json_pack("{s:b,s:s,s:i,s:i}", "available", avail, "status",
                     status, "used", used, "capacity", cap);
}


int
sb_thread_append(sb_ctx_t *cx, json_t *conv, const char *kind,
    const char *author, const char *text, const char *event, json_t **out)
{
    return sb_thread_append_ex(cx, conv, kind, author, text, event, NULL,
                               out);
}


/* A thread entry's key: tenant, conversation, be64(seq). */
void
sb_msg_key(sb_key_t *k, const char *tenant, const char *conv, uint64_t seq)
{
    sb_key_init(k, tenant);
    sb_key_str(k, conv);
    sb_key_u64(k, seq);
}


/* Appends one entry to a conversation's thread (R17); extra fields (a
 * canned id, an attachment) are merged into it. */
int
sb_thread_append_ex(sb_ctx_t *cx, json_t *conv, const char *kind,
    const char *author, const char *text, const char *event, json_t *extra,
    json_t **out)
{
    sb_key_t   k;
    json_t    *msg;
    uint64_t   seq;
    int        rc;

    seq = (uint64_t) sb_get_int(conv, "seq") + 1;
    json_object_set_new(conv, "seq", json_integer((json_int_t) seq));

    msg = json_pack("{s:I,s:s,s:s,s:s,s:I,s:s?}", "seq", (json_int_t) seq,
                    "kind", kind, "author", author, "text", text, "at",
                    (json_int_t) cx->now, "event", event);
    if (msg == NULL) {
        return ENOMEM;
    }
    if (extra) {
        json_object_update(msg, extra);
    }

    sb_msg_key(&k, cx->tenant, sb_get_str(conv, "id"), seq);
    rc = sb_rec_put(cx->txn, cx->st->db[SB_DB_MSG], &k, msg);

    if (rc == 0 && out) {
        *out = msg;
    } else {
        json_decref(msg);
    }
    return rc;
}


/* R24: appends to an owner's durable log; takes the event's reference. */
int
sb_log_append(sb_ctx_t *cx, const char *owner, json_t *event)
{
    sb_key_t  k;
    MDB_val   key, val;
    uint64_t  seq = 0;
    int       rc;

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, owner);

    rc = sb_prefix_last(cx->txn, cx->st->db[SB_DB_EVENT], &k, &key, &val);
    if (rc == 0 && key.mv_size == k.n + 8) {
        seq = sb_key_read_u64((unsigned char *) key.mv_data + k.n);
    } else if (rc && rc != MDB_NOTFOUND) {
        json_decref(event);
        return rc;
    }
    seq++;

    json_object_set_new(event, "seq", json_integer((json_int_t) seq));
    json_object_set_new(event, "at", json_integer(cx->now));
    sb_key_u64(&k, seq);
    rc = sb_rec_put(cx->txn, cx->st->db[SB_DB_EVENT], &k, event);
    json_decref(event);

    if (rc == 0 && sb_moved_add(cx->moved, cx->tenant, owner) != 0) {
        rc = ENOMEM;
    }
    return rc;
}


/* A thread entry as the API shows it. */
json_t *
sb_message_view(json_t *msg)
{
    json_t      *v = json_deep_copy(msg);

    json_t      *d = json_object_get(v, "delivery"), *t;
    const char  *name;

    json_object_set_new(v, "at", sb_time_json(json_object_get(msg, "at")));
    json_object_foreach(d, name, t) {
        if (strlen(name) > 3 && strcmp(name + strlen(name) - 3, "_at") == 0) {
            json_object_set_new(d, name, sb_time_json(t));
        }
    }
    if (json_object_get(v, "event") == NULL) {
        json_object_set_new(v, "event", json_null());
    }
    return v;
}
