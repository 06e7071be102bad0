/*
 * snapshot.c: the engine's whole state as msgpack, and back (le_engine_save, le_engine_load).
 *
 * The document is a sequence of msgpack objects, so that loading needs one object's worth of
 * msgpack memory at a time:
 *
 *   header    map  {"v": 2, "ring_seq": steps ever, "ring": steps kept, "ring_last": n,
 *                   "hw": entries used, "visitors": n, "contacts": n, "accounts": n,
 *                   "rng": generator state, "stats": [events, dropped, evicted, merges, mqls,
 *                   mqas, bad_emails], "free": [free entry indices, in stack order],
 *                   "rules": [[behaviour rule names], [fit rule names]]}
 *   visitor   array [index, id (bin 16), first_seen, last_seen, contact, account, flags,
 *                    mql_at, lead]                                             (n times)
 *   contact   array [id, email, first_name, last_name, job_title, phone, postal_code,
 *                    country, company, company_key, industry, company_size, role,
 *                    email_kind, company_match, quality, first_seen, last_seen, suppress,
 *                    account, mql_at, mqls, lead, [[visitor id, linked_at]...],
 *                    [ip_company, ip_company_key, ip_domain, ip_country, region,
 *                     continent, city, network, browser, os, device_class, language],
 *                    njourney, [[url, at]...],
 *                    [consent, stage, bant, recycled_at, breached, reason,
 *                     [[stage, at, cycle]...]]]                                (n times)
 *   account   array [key, name, domain, behaviour, btime, members, [contact...], mqa_at]
 *   step      array [ring position, seq, visitor key, at, prev, url]           (n times)
 *   last      array [slot, visitor key, ring position + 1]                     (n times)
 *
 *   lead      array [behaviour, fit, btime, [[rule, kind, today, day, times, points]...]]
 *
 * Version 1 (before lifecycles) is still read: 27-element contacts with 7 enrichment strings.
 *
 * Visitors keep their entry index and the free list its order, so that sampling for eviction
 * after a load picks what it would have picked without the snapshot. The journey ring's index
 * names ring positions; in memory it keeps the steps' seqs (engine_int.h), which loading works
 * out from the steps, and the steps' URLs go into the ring's text buffer in seq order. Strings are nil when
 * unset.
 *
 * Rule parts name their rule by its index, and the header lists the rule names of the run that
 * saved: a load under changed rules (a restart with a new config) maps each part to the rule
 * of the same name. A part whose rule is gone is dropped; the points it brought stay in the
 * score, as points earned are not taken back.
 */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* ---- saving ------------------------------------------------------------------------------- */

static int buf_write(void *data, const char *p, size_t n) {
    le_buf_append(data, p, n);
    return 0;
}

static void pk_str(msgpack_packer *pk, const char *s) {
    if (!s) {
        msgpack_pack_nil(pk);
        return;
    }
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pk_lead(msgpack_packer *pk, const le_lead_t *l) {
    msgpack_pack_array(pk, 4);
    msgpack_pack_float(pk, l->behaviour);
    msgpack_pack_int32(pk, l->fit);
    msgpack_pack_uint32(pk, l->btime);
    msgpack_pack_array(pk, l->nparts);
    for (uint16_t i = 0; i < l->nparts; i++) {
        const le_part_t *p = &l->parts[i];
        msgpack_pack_array(pk, 6);
        msgpack_pack_uint16(pk, p->rule);
        msgpack_pack_uint8(pk, p->kind);
        msgpack_pack_uint8(pk, p->today);
        msgpack_pack_uint16(pk, p->day);
        msgpack_pack_uint16(pk, p->times);
        msgpack_pack_float(pk, p->points);
    }
}

void le_engine_save(const le_engine_t *e, le_buf_t *out) {
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_write);
    uint32_t nsteps = 0, nlast = 0;
    for (uint32_t i = 0; e->ring && i < RING; i++) {
        nsteps += e->ring[i].seq != 0;
        nlast += e->ring_last[i].seq != 0;
    }
    msgpack_pack_map(&pk, 12);
    pk_str(&pk, "ring_seq");
    msgpack_pack_uint64(&pk, e->ring_seq);
    pk_str(&pk, "ring");
    msgpack_pack_uint32(&pk, nsteps);
    pk_str(&pk, "ring_last");
    msgpack_pack_uint32(&pk, nlast);
    pk_str(&pk, "v");
    msgpack_pack_uint32(&pk, SNAP_VERSION);
    pk_str(&pk, "hw");
    msgpack_pack_uint32(&pk, e->hw);
    pk_str(&pk, "visitors");
    msgpack_pack_uint32(&pk, e->nvisitors);
    pk_str(&pk, "contacts");
    msgpack_pack_uint64(&pk, e->ncontacts);
    pk_str(&pk, "accounts");
    msgpack_pack_uint64(&pk, e->naccounts);
    pk_str(&pk, "rng");
    msgpack_pack_uint64(&pk, e->rng);
    pk_str(&pk, "stats");
    const uint64_t st[] = {e->st.events, e->st.dropped, e->st.evicted,   e->st.merges,
                           e->st.mqls,   e->st.mqas,    e->st.bad_emails};
    msgpack_pack_array(&pk, LE_ARRAY_SIZE(st));
    for (size_t i = 0; i < LE_ARRAY_SIZE(st); i++) msgpack_pack_uint64(&pk, st[i]);
    pk_str(&pk, "free");
    msgpack_pack_array(&pk, e->nfree);
    for (size_t i = 0; i < e->nfree; i++) msgpack_pack_uint32(&pk, e->freelist[i]);
    pk_str(&pk, "rules");
    msgpack_pack_array(&pk, 2);
    for (int k = 0; k < 2; k++) {
        size_t n = le_rules_count(e->rules, (le_rules_kind_t)k);
        msgpack_pack_array(&pk, (uint32_t)n);
        for (size_t i = 0; i < n; i++)
            pk_str(&pk, le_rules_get(e->rules, (le_rules_kind_t)k, i)->name);
    }

    for (uint32_t i = 0; i < e->hw; i++) {
        const visitor_t *v = le__vis(e, i);
        if (!(v->flags & V_USED)) continue;
        msgpack_pack_array(&pk, 9);
        msgpack_pack_uint32(&pk, i);
        msgpack_pack_bin(&pk, 16);
        msgpack_pack_bin_body(&pk, v->id, 16);
        msgpack_pack_uint32(&pk, v->first_seen);
        msgpack_pack_uint32(&pk, v->last_seen);
        msgpack_pack_uint32(&pk, v->contact);
        msgpack_pack_uint32(&pk, v->account);
        msgpack_pack_uint32(&pk, v->flags);
        msgpack_pack_uint32(&pk, v->mql_at);
        pk_lead(&pk, &v->lead);
    }
    for (size_t i = 0; i < e->ncontacts; i++) {
        const contact_t *c = e->contacts[i];
        msgpack_pack_array(&pk, 28);
        pk_str(&pk, c->id);
        pk_str(&pk, c->email);
        pk_str(&pk, c->first_name);
        pk_str(&pk, c->last_name);
        pk_str(&pk, c->job_title);
        pk_str(&pk, c->phone);
        pk_str(&pk, c->postal);
        pk_str(&pk, c->country);
        pk_str(&pk, c->company);
        pk_str(&pk, c->company_key);
        pk_str(&pk, c->industry);
        msgpack_pack_int64(&pk, c->company_size);
        msgpack_pack_int(&pk, c->role);
        msgpack_pack_int(&pk, c->email_kind);
        msgpack_pack_int(&pk, c->company_match);
        msgpack_pack_uint32(&pk, c->quality);
        msgpack_pack_uint32(&pk, c->first_seen);
        msgpack_pack_uint32(&pk, c->last_seen);
        msgpack_pack_uint32(&pk, c->suppress);
        msgpack_pack_uint32(&pk, c->account);
        msgpack_pack_uint32(&pk, c->mql_at);
        msgpack_pack_uint32(&pk, c->mqls);
        pk_lead(&pk, &c->lead);
        msgpack_pack_array(&pk, c->nvids);
        for (uint32_t k = 0; k < c->nvids; k++) {
            msgpack_pack_array(&pk, 2);
            msgpack_pack_bin(&pk, 16);
            msgpack_pack_bin_body(&pk, c->vids[k], 16);
            msgpack_pack_uint32(&pk, c->vat[k]);
        }
        msgpack_pack_array(&pk, ENRICH);
        char *const *enr[ENRICH] = CONTACT_ENRICH(c);
        for (int k = 0; k < ENRICH; k++) pk_str(&pk, *enr[k]);
        msgpack_pack_uint32(&pk, c->njourney);
        uint32_t nj = c->njourney < JOURNEY ? c->njourney : JOURNEY;
        msgpack_pack_array(&pk, nj);
        for (uint32_t k = c->njourney - nj; k < c->njourney; k++) {
            const step_t *s = &c->journey[k % JOURNEY];
            msgpack_pack_array(&pk, 2);
            pk_str(&pk, s->url);
            msgpack_pack_uint32(&pk, s->at);
        }
        msgpack_pack_array(&pk, 7);
        if (c->consent)
            msgpack_pack_true(&pk);
        else
            msgpack_pack_false(&pk);
        msgpack_pack_uint32(&pk, c->stage);
        msgpack_pack_uint32(&pk, c->bant);
        msgpack_pack_uint32(&pk, c->recycled_at);
        msgpack_pack_uint32(&pk, c->breached);
        pk_str(&pk, c->reason);
        msgpack_pack_array(&pk, c->nhistory);
        for (uint32_t k = 0; k < c->nhistory; k++) {
            msgpack_pack_array(&pk, 3);
            msgpack_pack_uint32(&pk, c->history[k].stage);
            msgpack_pack_uint32(&pk, c->history[k].at);
            msgpack_pack_uint32(&pk, c->history[k].cycle);
        }
    }
    for (size_t i = 0; i < e->naccounts; i++) {
        const account_t *a = e->accounts[i];
        msgpack_pack_array(&pk, 8);
        pk_str(&pk, a->key);
        pk_str(&pk, a->name);
        pk_str(&pk, a->domain);
        msgpack_pack_float(&pk, a->behaviour);
        msgpack_pack_uint32(&pk, a->btime);
        msgpack_pack_uint32(&pk, a->members);
        msgpack_pack_array(&pk, a->ncontacts);
        for (uint32_t k = 0; k < a->ncontacts; k++) msgpack_pack_uint32(&pk, a->contacts[k]);
        msgpack_pack_uint32(&pk, a->mqa_at);
    }
    for (uint32_t i = 0; e->ring && i < RING; i++) {
        const struct ring_step *rs = &e->ring[i];
        if (!rs->seq) continue;
        msgpack_pack_array(&pk, 6);
        msgpack_pack_uint32(&pk, i);
        msgpack_pack_uint64(&pk, rs->seq);
        msgpack_pack_uint64(&pk, rs->key);
        msgpack_pack_uint32(&pk, rs->at);
        msgpack_pack_uint32(&pk, rs->prev);
        le_str_t url = le__ring_url(e, rs);
        msgpack_pack_str(&pk, url.len);
        msgpack_pack_str_body(&pk, url.ptr, url.len);
    }
    for (uint32_t i = 0; e->ring && i < RING; i++) {
        const struct ring_last *l = &e->ring_last[i];
        if (!l->seq) continue;
        msgpack_pack_array(&pk, 3);
        msgpack_pack_uint32(&pk, i);
        msgpack_pack_uint64(&pk, l->key);
        msgpack_pack_uint32(&pk, (uint32_t)((l->seq - 1) % RING) + 1);
    }
}

/* ---- loading ------------------------------------------------------------------------------ */

typedef struct {
    const char *data;
    size_t len, off;
    msgpack_unpacked u;
    const char *why;
    int32_t *map[2]; /* saved rule index -> current one, -1 gone; NULL: the same rules */
    uint32_t nmap[2];
} rd_t;

/* The next top-level object, or NULL with r->why. */
static const msgpack_object *next_obj(rd_t *r, msgpack_object_type type, uint32_t n) {
    if (msgpack_unpack_next(&r->u, r->data, r->len, &r->off) != MSGPACK_UNPACK_SUCCESS) {
        r->why = "truncated or not msgpack";
        return NULL;
    }
    const msgpack_object *o = &r->u.data;
    if (o->type != type || (type == MSGPACK_OBJECT_ARRAY && o->via.array.size != n)) {
        r->why = "unexpected object";
        return NULL;
    }
    return o;
}

static bool get_u64(const msgpack_object *o, uint64_t *v) {
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) return false;
    *v = o->via.u64;
    return true;
}

static bool get_u32(const msgpack_object *o, uint32_t *v) {
    uint64_t x;
    if (!get_u64(o, &x) || x > UINT32_MAX) return false;
    *v = (uint32_t)x;
    return true;
}

static bool get_i64(const msgpack_object *o, int64_t *v) {
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *v = (int64_t)o->via.u64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *v = o->via.i64;
        return true;
    }
    return false;
}

static bool get_float(const msgpack_object *o, float *v) {
    if (o->type != MSGPACK_OBJECT_FLOAT32 && o->type != MSGPACK_OBJECT_FLOAT64) return false;
    *v = (float)o->via.f64;
    return true;
}

static bool get_str(const msgpack_object *o, char **v) {
    if (o->type == MSGPACK_OBJECT_NIL) {
        *v = NULL;
        return true;
    }
    if (o->type != MSGPACK_OBJECT_STR) return false;
    *v = le_xstrndup(o->via.str.ptr, o->via.str.size);
    return true;
}

/* [consent, stage, bant, recycled_at, breached, reason, [[stage, at, cycle]...]] */
static bool get_lifecycle(const msgpack_object *o, contact_t *c) {
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 7) return false;
    const msgpack_object *a = o->via.array.ptr;
    uint32_t stage, bant;
    if (a[0].type != MSGPACK_OBJECT_BOOLEAN || !get_u32(&a[1], &stage) || stage >= LE_STAGE_COUNT ||
        !get_u32(&a[2], &bant) || bant > 15 || !get_u32(&a[3], &c->recycled_at) ||
        !get_u32(&a[4], &c->breached) || !get_str(&a[5], &c->reason) ||
        a[6].type != MSGPACK_OBJECT_ARRAY || a[6].via.array.size > HISTORY)
        return false;
    c->consent = a[0].via.boolean;
    c->stage = (uint8_t)stage;
    c->bant = (uint8_t)bant;
    if (a[6].via.array.size) c->history = le_xcalloc(HISTORY, sizeof(*c->history));
    for (uint32_t k = 0; k < a[6].via.array.size; k++) {
        const msgpack_object *h = &a[6].via.array.ptr[k];
        uint32_t st, at, cycle;
        if (h->type != MSGPACK_OBJECT_ARRAY || h->via.array.size != 3 ||
            !get_u32(&h->via.array.ptr[0], &st) || st >= LE_STAGE_COUNT ||
            !get_u32(&h->via.array.ptr[1], &at) || !get_u32(&h->via.array.ptr[2], &cycle) ||
            cycle > UINT16_MAX)
            return false;
        c->history[c->nhistory++] =
            (lc_t){.at = at, .cycle = (uint16_t)cycle, .stage = (uint8_t)st};
    }
    return true;
}

static bool get_id(const msgpack_object *o, uint8_t out[16]) {
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != 16) return false;
    memcpy(out, o->via.bin.ptr, 16);
    return true;
}

static bool get_lead(const le_engine_t *e, const rd_t *r, const msgpack_object *o, le_lead_t *l) {
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4) return false;
    const msgpack_object *a = o->via.array.ptr;
    int64_t fit;
    if (!get_float(&a[0], &l->behaviour) || !get_i64(&a[1], &fit) || !get_u32(&a[2], &l->btime) ||
        a[3].type != MSGPACK_OBJECT_ARRAY || a[3].via.array.size > UINT16_MAX)
        return false;
    l->fit = (int32_t)fit;
    uint32_t n = a[3].via.array.size;
    if (n) l->parts = le_xcalloc(n, sizeof(le_part_t));
    l->cap = (uint16_t)n;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *p = &a[3].via.array.ptr[i];
        uint32_t rule, kind, today, day, times;
        if (p->type != MSGPACK_OBJECT_ARRAY || p->via.array.size != 6) return false;
        const msgpack_object *f = p->via.array.ptr;
        le_part_t *d = &l->parts[l->nparts];
        if (!get_u32(&f[0], &rule) || !get_u32(&f[1], &kind) || !get_u32(&f[2], &today) ||
            !get_u32(&f[3], &day) || !get_u32(&f[4], &times) || !get_float(&f[5], &d->points) ||
            kind > 1 || today > 255 || day > UINT16_MAX || times > UINT16_MAX)
            return false;
        if (r->map[kind]) {
            if (rule >= r->nmap[kind]) return false;
            if (r->map[kind][rule] < 0) continue; /* its rule is gone */
            rule = (uint32_t)r->map[kind][rule];
        } else if (rule >= le_rules_count(e->rules, (le_rules_kind_t)kind)) {
            return false;
        }
        d->rule = (uint16_t)rule;
        d->kind = (uint8_t)kind;
        d->today = (uint8_t)today;
        d->day = (uint16_t)day;
        d->times = (uint16_t)times;
        l->nparts++;
    }
    return true;
}

/* The journey ring's steps and its index of latest steps. A step sits at the ring position its
 * seq gives ((seq - 1) % RING) and is one of the last RING written; an index entry names a
 * position, which becomes the seq of the step there when it is the visitor's, else a seq
 * whose step the ring has come round over since (a live run leaves no other kind). */
static int load_ring(le_engine_t *e, rd_t *r, uint64_t nsteps, uint64_t nlast, char **urls,
                     uint16_t *lens) {
    for (uint64_t n = 0; n < nsteps; n++) {
        const msgpack_object *o = next_obj(r, MSGPACK_OBJECT_ARRAY, 6);
        if (!o) return LE_ECORRUPT;
        const msgpack_object *a = o->via.array.ptr;
        uint32_t pos;
        struct ring_step rs = {0};
        bool ok = get_u32(&a[0], &pos) && pos < RING && !e->ring[pos].seq &&
                  get_u64(&a[1], &rs.seq) && rs.seq && rs.seq <= e->ring_seq &&
                  rs.seq + RING > e->ring_seq && (rs.seq - 1) % RING == pos &&
                  get_u64(&a[2], &rs.key) && get_u32(&a[3], &rs.at) && get_u32(&a[4], &rs.prev) &&
                  rs.prev <= RING && a[5].type == MSGPACK_OBJECT_STR;
        if (!ok) {
            r->why = "bad journey step";
            return LE_ECORRUPT;
        }
        uint32_t len = a[5].via.str.size;
        const char *nul = memchr(a[5].via.str.ptr, 0, len);
        if (nul) len = (uint32_t)(nul - a[5].via.str.ptr);
        if (len > 2048) len = 2048;
        urls[pos] = le_xstrndup(a[5].via.str.ptr, len);
        lens[pos] = (uint16_t)len;
        e->ring[pos] = rs;
    }
    for (uint64_t n = 0; n < nlast; n++) {
        const msgpack_object *o = next_obj(r, MSGPACK_OBJECT_ARRAY, 3);
        if (!o) return LE_ECORRUPT;
        const msgpack_object *a = o->via.array.ptr;
        uint32_t slot, pos;
        uint64_t key;
        if (!get_u32(&a[0], &slot) || slot >= RING || !get_u64(&a[1], &key) ||
            !get_u32(&a[2], &pos) || !pos || pos > RING) {
            r->why = "bad journey index";
            return LE_ECORRUPT;
        }
        const struct ring_step *st = &e->ring[pos - 1];
        uint64_t seq = 0, base = e->ring_seq >= RING ? e->ring_seq - RING : 0;
        if (st->seq && st->key == key)
            seq = st->seq;
        else if (base >= pos)
            seq = base - (base - pos) % RING; /* at pos, and overwritten */
        e->ring_last[slot] = (struct ring_last){key, seq};
    }
    return 0;
}

static int load(le_engine_t *e, rd_t *r) {
    const msgpack_object *h = next_obj(r, MSGPACK_OBJECT_MAP, 0);
    if (!h) return LE_ECORRUPT;
    uint64_t version = 0, hw = 0, nv = 0, nc = 0, na = 0, nsteps = 0, nlast = 0;
    const msgpack_object *stats = NULL, *freel = NULL, *rules = NULL;
    for (uint32_t i = 0; i < h->via.map.size; i++) {
        const msgpack_object_kv *kv = &h->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR) continue;
        const char *k = kv->key.via.str.ptr;
        uint32_t kl = kv->key.via.str.size;
#define IS(s) (kl == sizeof(s) - 1 && memcmp(k, s, kl) == 0)
        if (IS("v")) get_u64(&kv->val, &version);
        if (IS("hw")) get_u64(&kv->val, &hw);
        if (IS("visitors")) get_u64(&kv->val, &nv);
        if (IS("contacts")) get_u64(&kv->val, &nc);
        if (IS("accounts")) get_u64(&kv->val, &na);
        if (IS("rng")) get_u64(&kv->val, &e->rng);
        if (IS("stats")) stats = &kv->val;
        if (IS("free")) freel = &kv->val;
        if (IS("rules")) rules = &kv->val;
        if (IS("ring_seq")) get_u64(&kv->val, &e->ring_seq);
        if (IS("ring")) get_u64(&kv->val, &nsteps);
        if (IS("ring_last")) get_u64(&kv->val, &nlast);
#undef IS
    }
    if (version != 1 && version != SNAP_VERSION) {
        r->why = "unknown snapshot version";
        return LE_ECORRUPT;
    }
    if (hw > UINT32_MAX || nv > hw || nv > e->cfg->limits.max_visitors || nc > UINT32_MAX ||
        na > UINT32_MAX || !stats || stats->type != MSGPACK_OBJECT_ARRAY ||
        stats->via.array.size != 7 || !freel || freel->type != MSGPACK_OBJECT_ARRAY ||
        freel->via.array.size > hw) {
        r->why = "bad header";
        return LE_ECORRUPT;
    }
    if (rules) {
        if (rules->type != MSGPACK_OBJECT_ARRAY || rules->via.array.size != 2) {
            r->why = "bad rule names";
            return LE_ECORRUPT;
        }
        for (int k = 0; k < 2; k++) {
            const msgpack_object *names = &rules->via.array.ptr[k];
            if (names->type != MSGPACK_OBJECT_ARRAY) {
                r->why = "bad rule names";
                return LE_ECORRUPT;
            }
            size_t cur = le_rules_count(e->rules, (le_rules_kind_t)k);
            bool same = names->via.array.size == cur;
            r->nmap[k] = names->via.array.size;
            r->map[k] = le_xcalloc(r->nmap[k] ? r->nmap[k] : 1, sizeof(int32_t));
            for (uint32_t i = 0; i < r->nmap[k]; i++) {
                const msgpack_object *nm = &names->via.array.ptr[i];
                r->map[k][i] = -1;
                if (nm->type != MSGPACK_OBJECT_STR) continue;
                for (size_t j = 0; j < cur; j++) {
                    const char *want = le_rules_get(e->rules, (le_rules_kind_t)k, j)->name;
                    if (strlen(want) == nm->via.str.size &&
                        memcmp(want, nm->via.str.ptr, nm->via.str.size) == 0) {
                        r->map[k][i] = (int32_t)j;
                        break;
                    }
                }
                same = same && r->map[k][i] == (int32_t)i;
            }
            if (same) { /* the usual case: nothing to map */
                free(r->map[k]);
                r->map[k] = NULL;
            }
        }
    }
    uint64_t *st[] = {&e->st.events, &e->st.dropped, &e->st.evicted,   &e->st.merges,
                      &e->st.mqls,   &e->st.mqas,    &e->st.bad_emails};
    for (size_t i = 0; i < 7; i++) get_u64(&stats->via.array.ptr[i], st[i]);
    while (e->hw < hw) le__engine_new_entry(e);
    if (freel->via.array.size) {
        e->capfree = freel->via.array.size;
        e->freelist = le_xcalloc(e->capfree, sizeof(uint32_t));
        for (uint32_t i = 0; i < freel->via.array.size; i++) {
            uint32_t x;
            if (!get_u32(&freel->via.array.ptr[i], &x) || x >= hw) {
                r->why = "bad free list";
                return LE_ECORRUPT;
            }
            e->freelist[e->nfree++] = x;
        }
    }

    for (uint64_t n = 0; n < nv; n++) {
        const msgpack_object *o = next_obj(r, MSGPACK_OBJECT_ARRAY, 9);
        if (!o) return LE_ECORRUPT;
        const msgpack_object *a = o->via.array.ptr;
        uint32_t idx;
        if (!get_u32(&a[0], &idx) || idx >= hw || (le__vis(e, idx)->flags & V_USED)) {
            r->why = "bad visitor index";
            return LE_ECORRUPT;
        }
        visitor_t *v = le__vis(e, idx);
        if (!get_id(&a[1], v->id) || !get_u32(&a[2], &v->first_seen) ||
            !get_u32(&a[3], &v->last_seen) || !get_u32(&a[4], &v->contact) ||
            !get_u32(&a[5], &v->account) || !get_u32(&a[6], &v->flags) ||
            !get_u32(&a[7], &v->mql_at) || !get_lead(e, r, &a[8], &v->lead) ||
            !(v->flags & V_USED) || v->contact > nc || v->account > na) {
            r->why = "bad visitor";
            return LE_ECORRUPT;
        }
        le__engine_index_visitor(e, idx);
        e->nvisitors++;
    }
    e->contacts = le_xcalloc(nc ? nc : 1, sizeof(*e->contacts));
    e->capcontacts = nc ? nc : 1;
    for (uint64_t n = 0; n < nc; n++) {
        const msgpack_object *o = next_obj(r, MSGPACK_OBJECT_ARRAY, version == 1 ? 27 : 28);
        if (!o) return LE_ECORRUPT;
        const msgpack_object *a = o->via.array.ptr;
        contact_t *c = le_xcalloc(1, sizeof(*c));
        e->contacts[e->ncontacts++] = c; /* owned by e from here, freed with it on failure */
        char *id = NULL;
        int64_t size, role, kind, match;
        bool ok = get_str(&a[0], &id) && id && strlen(id) == 32;
        if (ok) memcpy(c->id, id, 33);
        free(id);
        ok = ok && get_str(&a[1], &c->email) && c->email && get_str(&a[2], &c->first_name) &&
             get_str(&a[3], &c->last_name) && get_str(&a[4], &c->job_title) &&
             get_str(&a[5], &c->phone) && get_str(&a[6], &c->postal) &&
             get_str(&a[7], &c->country) && get_str(&a[8], &c->company) &&
             get_str(&a[9], &c->company_key) && get_str(&a[10], &c->industry) &&
             get_i64(&a[11], &size) && get_i64(&a[12], &role) && get_i64(&a[13], &kind) &&
             get_i64(&a[14], &match) && get_u32(&a[15], &c->quality) &&
             get_u32(&a[16], &c->first_seen) && get_u32(&a[17], &c->last_seen) &&
             get_u32(&a[18], &c->suppress) && get_u32(&a[19], &c->account) &&
             get_u32(&a[20], &c->mql_at) && get_u32(&a[21], &c->mqls) &&
             get_lead(e, r, &a[22], &c->lead) && c->account <= na;
        if (ok) {
            c->company_size = size;
            c->role = (int)role;
            c->email_kind = (int)kind;
            c->company_match = (int)match;
        }
        ok = ok && a[23].type == MSGPACK_OBJECT_ARRAY;
        if (ok && a[23].via.array.size) {
            uint32_t nl = a[23].via.array.size;
            c->vids = le_xcalloc(nl, sizeof(*c->vids));
            c->vat = le_xcalloc(nl, sizeof(*c->vat));
            for (uint32_t k = 0; k < nl && ok; k++) {
                const msgpack_object *l = &a[23].via.array.ptr[k];
                ok = l->type == MSGPACK_OBJECT_ARRAY && l->via.array.size == 2 &&
                     get_id(&l->via.array.ptr[0], c->vids[k]) &&
                     get_u32(&l->via.array.ptr[1], &c->vat[k]);
                if (ok) c->nvids++;
            }
        }
        /* the enrichment strings, in CONTACT_ENRICH order (version 1 had 7 of them) */
        static const int v1[7] = {0, 3, 6, 7, 8, 9, 11};
        int nenr = version == 1 ? 7 : ENRICH;
        ok = ok && a[24].type == MSGPACK_OBJECT_ARRAY && a[24].via.array.size == (uint32_t)nenr;
        if (ok) {
            le_str_t enr[ENRICH] = {0};
            for (int k = 0; k < nenr && ok; k++) {
                const msgpack_object *so = &a[24].via.array.ptr[k];
                ok = so->type == MSGPACK_OBJECT_NIL || so->type == MSGPACK_OBJECT_STR;
                if (ok && so->type == MSGPACK_OBJECT_STR) /* "" is set, nil is not */
                    enr[version == 1 ? v1[k] : k] =
                        (le_str_t){so->via.str.size ? so->via.str.ptr : "", so->via.str.size};
            }
            if (ok) le__contact_set_enrich(c, enr);
        }
        ok = ok && get_u32(&a[25], &c->njourney) && a[26].type == MSGPACK_OBJECT_ARRAY &&
             a[26].via.array.size <= JOURNEY &&
             a[26].via.array.size == (c->njourney < JOURNEY ? c->njourney : JOURNEY);
        if (ok) {
            uint32_t nj = a[26].via.array.size;
            for (uint32_t k = 0; k < nj && ok; k++) {
                const msgpack_object *so = &a[26].via.array.ptr[k];
                step_t *dst = &c->journey[(c->njourney - nj + k) % JOURNEY];
                ok = so->type == MSGPACK_OBJECT_ARRAY && so->via.array.size == 2 &&
                     get_str(&so->via.array.ptr[0], &dst->url) &&
                     get_u32(&so->via.array.ptr[1], &dst->at);
            }
        }
        if (ok && version >= 2) ok = get_lifecycle(&a[27], c);
        if (!ok) {
            r->why = "bad contact";
            return LE_ECORRUPT;
        }
        le__engine_index_contact(e, (uint32_t)n);
    }
    e->st.contacts = e->ncontacts;
    e->accounts = le_xcalloc(na ? na : 1, sizeof(*e->accounts));
    e->capaccounts = na ? na : 1;
    for (uint64_t n = 0; n < na; n++) {
        const msgpack_object *o = next_obj(r, MSGPACK_OBJECT_ARRAY, 8);
        if (!o) return LE_ECORRUPT;
        const msgpack_object *a = o->via.array.ptr;
        if (a[0].type != MSGPACK_OBJECT_STR) {
            r->why = "bad account";
            return LE_ECORRUPT;
        }
        account_t *acc = le__account_new(a[0].via.str.ptr, a[0].via.str.size);
        e->accounts[e->naccounts++] = acc;
        bool ok = get_str(&a[1], &acc->name) && get_str(&a[2], &acc->domain) &&
                  get_float(&a[3], &acc->behaviour) && get_u32(&a[4], &acc->btime) &&
                  get_u32(&a[5], &acc->members) && a[6].type == MSGPACK_OBJECT_ARRAY &&
                  get_u32(&a[7], &acc->mqa_at);
        if (ok && a[6].via.array.size) {
            acc->contacts = le_xcalloc(a[6].via.array.size, sizeof(uint32_t));
            for (uint32_t k = 0; k < a[6].via.array.size && ok; k++) {
                ok = get_u32(&a[6].via.array.ptr[k], &acc->contacts[k]) && acc->contacts[k] < nc;
                if (ok) acc->ncontacts++;
            }
        }
        if (!ok) {
            r->why = "bad account";
            return LE_ECORRUPT;
        }
        le__engine_index_account(e, (uint32_t)n);
    }
    if (nsteps > RING || nlast > RING) {
        r->why = "bad journey ring";
        return LE_ECORRUPT;
    }
    if (nsteps || nlast) le__ring_alloc(e);
    /* the steps' URLs wait here until all are read, then go into the ring's text in seq order */
    char **urls = nsteps ? le_xcalloc(RING, sizeof(char *)) : NULL;
    uint16_t *lens = nsteps ? le_xcalloc(RING, sizeof(uint16_t)) : NULL;
    int rc = load_ring(e, r, nsteps, nlast, urls, lens);
    if (rc == 0 && nsteps) le__ring_load_text(e, urls, lens);
    for (uint32_t i = 0; urls && i < RING; i++) free(urls[i]);
    free(urls);
    free(lens);
    if (rc) return rc;
    if (r->off != r->len) {
        r->why = "trailing data";
        return LE_ECORRUPT;
    }
    return 0;
}

int le_engine_load(le_engine_t *e, const void *data, size_t len, const char **why) {
    le__engine_clear(e);
    rd_t r = {.data = data, .len = len, .why = NULL};
    msgpack_unpacked_init(&r.u);
    int rc = load(e, &r);
    msgpack_unpacked_destroy(&r.u);
    free(r.map[0]);
    free(r.map[1]);
    if (rc) {
        le__engine_clear(e);
        if (why) *why = r.why ? r.why : "corrupt";
    }
    return rc;
}
