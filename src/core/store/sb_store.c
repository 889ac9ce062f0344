/* The environment: opened with its named databases, its format checked
 * (a store of the earlier JSON records is refused, never misread), and
 * the few row helpers every layer above uses; its usage and health for
 * the operator's endpoints. */

#include <stdio.h>

#include <sys/stat.h>
#include <sys/statvfs.h>

#include "store/sb_store.h"

#define SB_FORMAT      "switchboard-records-2"
#define SB_FORMAT_KEY  "\0format"


static const char *sb_db_names[SB_DB_COUNT] = {
    "meta", "conv", "thread", "handlers", "tags", "tagged", "open",
    "agent", "held", "group", "member", "ready", "seen", "queue", "state",
    "event", "idem", "ledger", "deadline", "canned", "block", "counter",
    "hook", "visit", "audit"
};


/*
 * A fresh store gets the format mark; a store with the mark is ours; a
 * store with rows but no mark was written by the JSON-record Switchboard
 * (issue 13 replaced it) and is refused with a message saying so.
 */
static int
sb_store_format(MDB_txn *txn, sb_store_t *st, char *err, size_t errlen)
{
    MDB_val      key = { sizeof(SB_FORMAT_KEY), (void *) SB_FORMAT_KEY };
    MDB_val      val, k;
    MDB_cursor  *cur;
    MDB_dbi      main;
    int          rc, other = 0;

    rc = mdb_get(txn, st->db[SB_DB_META], &key, &val);
    if (rc == 0) {
        if (val.mv_size != sizeof(SB_FORMAT) - 1
            || memcmp(val.mv_data, SB_FORMAT, val.mv_size) != 0)
        {
            snprintf(err, errlen, "the store's format \"%.*s\" is not %s",
                     (int) (val.mv_size > 64 ? 64 : val.mv_size),
                     (char *) val.mv_data, SB_FORMAT);
            return MDB_INCOMPATIBLE;
        }
        return 0;
    }
    if (rc != MDB_NOTFOUND) {
        return rc;
    }

    /* no mark: any named database we did not just create means old rows */
    SB_TRY(mdb_dbi_open(txn, NULL, 0, &main));
    SB_TRY(mdb_cursor_open(txn, main, &cur));
    for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT))
    {
        size_t  i;

        for (i = 0; i < SB_DB_COUNT; i++) {
            if (k.mv_size == strlen(sb_db_names[i])
                && memcmp(k.mv_data, sb_db_names[i], k.mv_size) == 0)
            {
                break;
            }
        }
        other |= i == SB_DB_COUNT;
    }
    mdb_cursor_close(cur);
    if (other || mdb_cursor_open(txn, st->db[SB_DB_META], &cur) != 0) {
        snprintf(err, errlen, "the store holds JSON records of an earlier "
                 "Switchboard; this one keeps binary records (%s) and does "
                 "not convert them: point switchboard_store at a new "
                 "directory", SB_FORMAT);
        return MDB_INCOMPATIBLE;
    }
    rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST);
    mdb_cursor_close(cur);
    if (rc == 0) {
        snprintf(err, errlen, "the store has rows but no format mark");
        return MDB_INCOMPATIBLE;
    }
    val.mv_size = sizeof(SB_FORMAT) - 1;
    val.mv_data = SB_FORMAT;
    return mdb_put(txn, st->db[SB_DB_META], &key, &val, 0);
}


int
sb_store_open(sb_store_t *st, const char *path, size_t mapsize, int nosync,
    char *err, size_t errlen)
{
    int       rc, i, dead = 0;
    MDB_txn  *txn = NULL;

    err[0] = '\0';
    rc = mdb_env_create(&st->env);
    if (rc) {
        goto failed;
    }
    mdb_env_set_maxdbs(st->env, SB_DB_COUNT + 20);
    mdb_env_set_maxreaders(st->env, 1022);
    rc = mdb_env_set_mapsize(st->env, mapsize);
    if (rc) {
        goto failed;
    }

    /* MDB_NOTLS: read transactions live on the event loop while the write
     * transaction runs in a pool thread */
    rc = mdb_env_open(st->env, path, MDB_NOTLS | (nosync ? MDB_NOSYNC : 0),
                      0660);
    if (rc) {
        goto failed;
    }

    /* readers left by killed processes would pin old pages forever */
    mdb_reader_check(st->env, &dead);

    rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc) {
        goto failed;
    }
    for (i = 0; i < SB_DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, sb_db_names[i], MDB_CREATE, &st->db[i]);
        if (rc) {
            goto failed;
        }
    }
    rc = sb_store_format(txn, st, err, errlen);
    if (rc) {
        goto failed;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc) {
        goto failed;
    }
    return 0;

failed:
    if (txn) {
        mdb_txn_abort(txn);
    }
    if (err[0] == '\0') {
        snprintf(err, errlen, "%s", mdb_strerror(rc));
    }
    if (st->env) {
        mdb_env_close(st->env);
        st->env = NULL;
    }
    return rc;
}


void
sb_store_close(sb_store_t *st)
{
    if (st->env) {
        mdb_env_close(st->env);
        st->env = NULL;
    }
}


int
sb_get(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k, MDB_val *val)
{
    MDB_val  key = sb_key_val(k);

    if (k->overflow) {
        return MDB_NOTFOUND;
    }
    return mdb_get(txn, dbi, &key, val);
}


int
sb_put(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k, const void *v, size_t len)
{
    MDB_val  key = sb_key_val(k), val = { len, (void *) v };

    if (k->overflow) {
        return MDB_BAD_VALSIZE;
    }
    return mdb_put(txn, dbi, &key, &val, 0);
}


/* Room for a value of len bytes, written in place (no copy). */
int
sb_reserve(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k, size_t len,
    unsigned char **out)
{
    MDB_val  key = sb_key_val(k), val = { len, NULL };
    int      rc;

    if (k->overflow) {
        return MDB_BAD_VALSIZE;
    }
    rc = mdb_put(txn, dbi, &key, &val, MDB_RESERVE);
    *out = val.mv_data;
    return rc;
}


int
sb_del(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k)
{
    MDB_val  key = sb_key_val(k);
    int      rc;

    if (k->overflow) {
        return 0;
    }
    rc = mdb_del(txn, dbi, &key, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* The greatest key that starts with prefix (e.g. the newest log entry). */
int
sb_prefix_last(MDB_txn *txn, MDB_dbi dbi, sb_key_t *prefix, MDB_val *key,
    MDB_val *val)
{
    MDB_cursor     *cur;
    unsigned char   probe[SB_KEY_MAX + 1];
    int             rc;

    SB_TRY(mdb_cursor_open(txn, dbi, &cur));

    /* probe = prefix followed by 0xff: just past every key of the prefix */
    memcpy(probe, prefix->b, prefix->n);
    probe[prefix->n] = 0xff;
    key->mv_size = prefix->n + 1;
    key->mv_data = probe;

    rc = mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
    if (rc == 0) {
        rc = mdb_cursor_get(cur, key, val, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(cur, key, val, MDB_LAST);
    }
    if (rc == 0 && !sb_key_has_prefix(key, prefix)) {
        rc = MDB_NOTFOUND;
    }
    mdb_cursor_close(cur);
    return rc;
}


/* 1 when some key starts with prefix (and is longer than it). */
int
sb_prefix_any(MDB_txn *txn, MDB_dbi dbi, sb_key_t *prefix)
{
    MDB_cursor  *cur;
    MDB_val      key = sb_key_val(prefix), val;
    int          rc, any;

    if (mdb_cursor_open(txn, dbi, &cur)) {
        return 1;
    }
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    any = rc == 0 && key.mv_size > prefix->n && sb_key_has_prefix(&key,
                                                                    prefix);
    mdb_cursor_close(cur);
    return any;
}


/* Pages on LMDB's free list: each of its rows lists page numbers, the
 * count first. */
static size_t
sb_free_pages(MDB_txn *txn)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    size_t       n = 0, count;
    int          rc;

    if (mdb_cursor_open(txn, 0, &cur) != 0) {
        return 0;
    }
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (val.mv_size >= sizeof(count)) {
            memcpy(&count, val.mv_data, sizeof(count));
            n += count;
        }
    }
    mdb_cursor_close(cur);
    return n;
}


/* The room above the high-water mark: the map's, as far as the disk can
 * grow the file (LMDB writes pages past its end; it never preallocates). */
static size_t
sb_store_room_above(sb_store_t *st, size_t *disk_free, size_t *hwm_bytes,
    size_t *map_bytes, size_t *psize)
{
    MDB_envinfo     info;
    MDB_stat        stat;
    struct stat     file;
    struct statvfs  fs;
    size_t          hwm, map_room, disk_room;
    int             fd;

    *disk_free = 0;
    if (mdb_env_info(st->env, &info) != 0
        || mdb_env_stat(st->env, &stat) != 0)
    {
        return 0;
    }
    hwm = (info.me_last_pgno + 1) * (size_t) stat.ms_psize;
    *hwm_bytes = hwm;
    *map_bytes = info.me_mapsize;
    *psize = stat.ms_psize;
    map_room = info.me_mapsize > hwm ? info.me_mapsize - hwm : 0;
    if (mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &file) != 0
        || fstatvfs(fd, &fs) != 0)
    {
        return map_room;
    }
    *disk_free = (size_t) fs.f_bavail * fs.f_frsize;
    disk_room = *disk_free;
    if ((size_t) file.st_size > hwm) {
        disk_room += (size_t) file.st_size - hwm;    /* written, then freed */
    }
    return map_room < disk_room ? map_room : disk_room;
}


void
sb_store_usage(sb_store_t *st, MDB_txn *txn, sb_store_usage_t *u)
{
    MDB_envinfo  info;
    size_t       hwm = 0, psize = 0, free, above;

    memset(u, 0, sizeof(*u));
    if (mdb_env_info(st->env, &info) != 0) {
        return;
    }
    above = sb_store_room_above(st, &u->disk_free_bytes, &hwm, &u->map_bytes,
                                &psize);
    free = sb_free_pages(txn) * psize;
    u->used_bytes = hwm - (free < hwm ? free : 0);
    u->room_bytes = above + free;
    u->readers = info.me_numreaders;
}


int
sb_store_tight(sb_store_t *st, size_t reserve)
{
    MDB_txn  *txn;
    size_t    disk, hwm, map, psize, room;

    room = sb_store_room_above(st, &disk, &hwm, &map, &psize);
    if (room >= reserve) {
        return 0;
    }
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) != 0) {
        return 1;
    }
    room += sb_free_pages(txn) * psize;
    mdb_txn_abort(txn);
    return room < reserve;
}


int
sb_store_adopt_size(sb_store_t *st)
{
    return mdb_env_set_mapsize(st->env, 0);
}


/*
 * A read of the format mark in txn, and the file at path compared with
 * the one mapped: a data.mdb removed or replaced under a running nginx
 * would take every later commit to a file no restart finds again.
 */
int
sb_store_health(sb_store_t *st, MDB_txn *txn, const char *path, char *why,
    size_t len)
{
    MDB_val      key = { sizeof(SB_FORMAT_KEY), (void *) SB_FORMAT_KEY };
    MDB_val      val;
    struct stat  mapped, named;
    char         file[4096];
    int          rc, fd;

    rc = mdb_get(txn, st->db[SB_DB_META], &key, &val);
    if (rc != 0 || val.mv_size != sizeof(SB_FORMAT) - 1
        || memcmp(val.mv_data, SB_FORMAT, val.mv_size) != 0)
    {
        snprintf(why, len, "the store's format mark cannot be read: %s",
                 rc ? mdb_strerror(rc) : "another format");
        return -1;
    }
    snprintf(file, sizeof(file), "%s/data.mdb", path);
    if (mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &mapped) != 0) {
        snprintf(why, len, "the store's file cannot be examined");
        return -1;
    }
    if (stat(file, &named) != 0) {
        snprintf(why, len, "%s: %s (removed under nginx: commits go to a "
                 "file no restart will find)", file, strerror(errno));
        return -1;
    }
    if (named.st_dev != mapped.st_dev || named.st_ino != mapped.st_ino) {
        snprintf(why, len, "%s is not the file nginx has open (replaced "
                 "under nginx: restart it)", file);
        return -1;
    }
    return 0;
}
