/*
 * lead.c: scores, decay, rule parts, merging, grades and the MQL criterion (lead.h).
 */
#include "lead.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void le_lead_free(le_lead_t *l) {
    free(l->parts);
    memset(l, 0, sizeof(*l));
}

void le_lead_decay(le_lead_t *l, uint32_t now, double half_life_s) {
    if (l->btime == 0) {
        l->btime = now;
        return;
    }
    if (now <= l->btime) return;
    double f = exp2(-(double)(now - l->btime) / half_life_s);
    l->behaviour = (float)(l->behaviour * f);
    for (uint16_t i = 0; i < l->nparts; i++)
        if (l->parts[i].kind == LE_RULES_BEHAVIOUR)
            l->parts[i].points = (float)(l->parts[i].points * f);
    l->btime = now;
}

static le_part_t *find_part(le_lead_t *l, uint8_t kind, uint16_t rule) {
    for (uint16_t i = 0; i < l->nparts; i++)
        if (l->parts[i].kind == kind && l->parts[i].rule == rule) return &l->parts[i];
    return NULL;
}

static le_part_t *add_part(le_lead_t *l, uint8_t kind, uint16_t rule) {
    if (l->nparts == l->cap) {
        l->cap = (uint16_t)(l->cap ? l->cap * 2 : 2);
        l->parts = le_xrealloc(l->parts, l->cap * sizeof(*l->parts));
    }
    le_part_t *p = &l->parts[l->nparts++];
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->rule = rule;
    return p;
}

static uint16_t utc_day(int64_t time_ms) {
    int64_t d = time_ms / 86400000;
    return (uint16_t)(d < 0 ? 0 : d > UINT16_MAX ? UINT16_MAX : d);
}

size_t le_lead_behaviour(le_lead_t *l, le_rules_t *r, const le_event_t *ev, double half_life_s,
                         le_fired_t *fired, size_t max) {
    uint32_t now = ev->time_ms > 0 ? (uint32_t)(ev->time_ms / 1000) : 0;
    le_lead_decay(l, now, half_life_s);
    uint16_t day = utc_day(ev->time_ms);
    size_t n = 0, nr = le_rules_count(r, LE_RULES_BEHAVIOUR);
    le_rules_event_t cx; /* the event prepared once for all the rules */
    le_rules_event_init(&cx, r, ev);
    for (size_t i = le_rules_behaviour_next(r, 0, &cx); i < nr && i <= UINT16_MAX;
         i = le_rules_behaviour_next(r, i + 1, &cx)) {
        const le_ruleconf_t *conf = le_rules_get(r, LE_RULES_BEHAVIOUR, i);
        le_part_t *p = find_part(l, LE_RULES_BEHAVIOUR, (uint16_t)i);
        if (p && conf->once && p->times) continue;
        if (p && conf->max_per_day && p->day == day && p->today >= conf->max_per_day) continue;
        if (!p) p = add_part(l, LE_RULES_BEHAVIOUR, (uint16_t)i);
        if (p->day != day) p->today = 0;
        p->day = day;
        if (p->today < UINT8_MAX) p->today++;
        if (p->times < UINT16_MAX) p->times++;
        p->points += (float)conf->points;
        l->behaviour += (float)conf->points;
        if (n < max) fired[n] = (le_fired_t){LE_RULES_BEHAVIOUR, (uint16_t)i, conf->points};
        n++;
    }
    le_rules_event_done(&cx);
    return n;
}

int32_t le_lead_fit(le_lead_t *l, le_rules_t *r, const le_fit_facts_t *f) {
    /* drop the old fit parts, keep the behaviour ones in order */
    uint16_t k = 0;
    for (uint16_t i = 0; i < l->nparts; i++)
        if (l->parts[i].kind != LE_RULES_FIT) l->parts[k++] = l->parts[i];
    l->nparts = k;
    int64_t fit = 0;
    size_t nr = le_rules_count(r, LE_RULES_FIT);
    for (size_t i = le_rules_fit_next(r, 0, f); i < nr && i <= UINT16_MAX;
         i = le_rules_fit_next(r, i + 1, f)) {
        const le_ruleconf_t *conf = le_rules_get(r, LE_RULES_FIT, i);
        le_part_t *p = add_part(l, LE_RULES_FIT, (uint16_t)i);
        p->points = (float)conf->points;
        p->times = 1;
        fit += conf->points;
    }
    l->fit = (int32_t)(fit > INT32_MAX ? INT32_MAX : fit < INT32_MIN ? INT32_MIN : fit);
    return l->fit;
}

void le_lead_merge(le_lead_t *dst, const le_lead_t *src_in, le_rules_t *r, uint32_t now,
                   double half_life_s) {
    le_lead_t src = *src_in; /* decayed on a copy of its parts: src stays unchanged */
    src.parts = src.nparts ? le_xmalloc(src.nparts * sizeof(le_part_t)) : NULL;
    if (src.nparts) memcpy(src.parts, src_in->parts, src.nparts * sizeof(le_part_t));
    if (dst->btime > now) now = dst->btime;
    if (src.btime > now) now = src.btime;
    le_lead_decay(dst, now, half_life_s);
    le_lead_decay(&src, now, half_life_s);
    dst->behaviour += src.behaviour;
    for (uint16_t i = 0; i < src.nparts; i++) {
        const le_part_t *s = &src.parts[i];
        if (s->kind != LE_RULES_BEHAVIOUR) continue;
        const le_ruleconf_t *conf = le_rules_get(r, LE_RULES_BEHAVIOUR, s->rule);
        le_part_t *d = find_part(dst, LE_RULES_BEHAVIOUR, s->rule);
        if (!d) {
            *add_part(dst, LE_RULES_BEHAVIOUR, s->rule) = *s;
            continue;
        }
        if (conf->once && d->times && s->times) {
            /* counted by both: keep one of the two */
            float keep = d->points > s->points ? d->points : s->points;
            float drop = d->points > s->points ? s->points : d->points;
            dst->behaviour -= drop;
            d->points = keep;
            continue;
        }
        d->points += s->points;
        uint32_t times = (uint32_t)d->times + s->times;
        d->times = (uint16_t)(times > UINT16_MAX ? UINT16_MAX : times);
        if (s->day == d->day) {
            uint32_t today = (uint32_t)d->today + s->today;
            if (conf->max_per_day && today > conf->max_per_day) {
                /* over the cap on the same day: the excess counts no more (its points, from
                 * today, have decayed by at most a day's worth; the rule's points are taken) */
                float excess = (float)(today - conf->max_per_day) * (float)conf->points;
                d->points -= excess;
                dst->behaviour -= excess;
                today = conf->max_per_day;
            }
            d->today = (uint8_t)(today > UINT8_MAX ? UINT8_MAX : today);
        } else if (s->day > d->day) {
            d->day = s->day;
            d->today = s->today;
        }
    }
    free(src.parts);
}

char le_grade(int32_t fit, const int32_t cuts[3]) {
    return fit >= cuts[0] ? 'A' : fit >= cuts[1] ? 'B' : fit >= cuts[2] ? 'C' : 'D';
}

int le_band(double behaviour, const int32_t cuts[3]) {
    return behaviour >= cuts[0] ? 1 : behaviour >= cuts[1] ? 2 : behaviour >= cuts[2] ? 3 : 4;
}

bool le_mql_criterion(const le_config_t *cfg, double behaviour, int32_t fit) {
    if (cfg->mql.matrix.n) {
        char cell[3] = {le_grade(fit, cfg->scoring.grades.fit),
                        (char)('0' + le_band(behaviour, cfg->scoring.grades.behaviour)), 0};
        for (size_t i = 0; i < cfg->mql.matrix.n; i++)
            if (strcmp(cfg->mql.matrix.items[i], cell) == 0) return true;
        return false;
    }
    return behaviour >= cfg->mql.behaviour && fit >= cfg->mql.fit;
}

const char *le_suppress_name(uint32_t bit) {
    switch (bit) {
        case LE_SUP_BOT:
            return "bot";
        case LE_SUP_GPC:
            return "gpc";
        case LE_SUP_STAFF:
            return "staff";
        case LE_SUP_COMPETITOR:
            return "competitor";
        case LE_SUP_CUSTOMER:
            return "customer";
        case LE_SUP_PARTNER:
            return "partner";
        case LE_SUP_FREEMAIL:
            return "freemail";
        default:
            return "";
    }
}

/* domain is entry or a subdomain of it. */
static bool in_domain(le_str_t domain, const char *entry) {
    size_t n = strlen(entry);
    if (domain.len < n || strncasecmp(domain.ptr + domain.len - n, entry, n) != 0) return false;
    return domain.len == n || domain.ptr[domain.len - n - 1] == '.';
}

static bool in_list(le_str_t domain, const le_strlist_t *l) {
    for (size_t i = 0; i < l->n; i++)
        if (in_domain(domain, l->items[i])) return true;
    return false;
}

uint32_t le_suppress_domain(const le_config_t *cfg, le_str_t domain) {
    if (!domain.len) return 0;
    uint32_t bits = 0;
    if (in_list(domain, &cfg->suppress.staff_domains)) bits |= LE_SUP_STAFF;
    if (in_list(domain, &cfg->suppress.competitor_domains)) bits |= LE_SUP_COMPETITOR;
    if (in_list(domain, &cfg->suppress.customer_domains)) bits |= LE_SUP_CUSTOMER;
    if (in_list(domain, &cfg->suppress.partner_domains)) bits |= LE_SUP_PARTNER;
    return bits;
}
