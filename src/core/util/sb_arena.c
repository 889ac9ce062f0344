/* A bump arena: a command's byte ranges and a batch's cached records are
 * many small allocations that live and die together. */

#include <stdlib.h>

#include "util/sb_util.h"

#define SB_CHUNK  8192

typedef struct sb_chunk_s  sb_chunk_t;

struct sb_chunk_s {
    sb_chunk_t  *next;
    size_t       size, used;
    /* the bytes follow, aligned for any scalar */
    _Alignas(16) unsigned char  data[];
};

struct sb_arena_s {
    sb_chunk_t  *head;            /* in the order they were made */
    sb_chunk_t  *cur;             /* the one being filled */
};


void *
sb_arena_alloc(sb_arena_t **ap, size_t n)
{
    sb_arena_t  *a = *ap;
    sb_chunk_t  *c;
    size_t       size;
    void        *p;

    if (a == NULL) {
        a = calloc(1, sizeof(sb_arena_t));
        if (a == NULL) {
            return NULL;
        }
        *ap = a;
    }
    n = (n + 15) & ~(size_t) 15;

    /* after a reset the chunks are filled again in order */
    c = a->cur;
    while (c && c->size - c->used < n && c->next) {
        c = c->next;
    }
    if (c == NULL || c->size - c->used < n) {
        size = n > SB_CHUNK ? n : SB_CHUNK;
        p = malloc(sizeof(sb_chunk_t) + size);
        if (p == NULL) {
            return NULL;
        }
        c = p;
        c->size = size;
        c->used = 0;
        c->next = NULL;
        if (a->cur) {
            while (a->cur->next) {
                a->cur = a->cur->next;
            }
            a->cur->next = c;
        } else {
            a->head = c;
        }
    }
    a->cur = c;
    p = c->data + c->used;
    c->used += n;
    return p;
}


/* A copy with a NUL after it, so that a range is also a C string. */
sb_span_t
sb_arena_copy(sb_arena_t **ap, const char *p, size_t n)
{
    sb_span_t  s = { NULL, 0 };
    char      *d = sb_arena_alloc(ap, n + 1);

    if (d) {
        if (n) {
            memcpy(d, p, n);
        }
        d[n] = '\0';
        s.p = d;
        s.n = n;
    }
    return s;
}


/* Keeps every chunk for the next user (a batch, every turn): memory
 * touched once is not given back and faulted in again. */
void
sb_arena_reset(sb_arena_t *a)
{
    sb_chunk_t  *c;

    if (a == NULL) {
        return;
    }
    for (c = a->head; c; c = c->next) {
        c->used = 0;
    }
    a->cur = a->head;
}


void
sb_arena_free(sb_arena_t *a)
{
    sb_chunk_t  *c, *next;

    if (a == NULL) {
        return;
    }
    for (c = a->head; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}
