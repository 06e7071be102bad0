/*
 * score_bench.c: the scoring engine's memory per visitor, its apply throughput and the
 * start-up replay, each beside a baseline measured in the same run (DESIGN.md §5: figures and
 * ratios, never a timed test).
 *
 * Every part uses one config with a realistic scoring section (nine behaviour rules: globs, a
 * PCRE2 pattern, UTM conditions, once and max_per_day; six fit rules on country, network,
 * company, role and e-mail domain), limits.max_visitors 1,100,000 and the built-in domain
 * lists, as the server builds them. Events come from a deterministic generator: a visitor has a
 * random-looking 32-hex id and a fixed enrichment (one of 8 places, a network, one of 20,000
 * companies on business and education networks, a browser, a language); page views go to
 * pricing, product, docs, case-study, careers and plain pages, some with UTM tags.
 *
 *   A. Memory. 1,000,000 page views of 1,000,000 distinct anonymous visitors, each firing one
 *      or two behaviour rules (and two or three fit rules), applied to an empty engine. Bytes
 *      per visitor two ways: le_engine_memory() / visitors, and the growth of the malloc heap
 *      (mallinfo2 uordblks + hblkhd, from just before le_engine_new) / visitors; the
 *      generator allocates nothing, so the growth is the engine's: entries, index, rule
 *      parts, accounts. Beside them two floors: the 16-byte ids alone, and the engine's fixed
 *      part (a 64-byte entry and the index slots). Goal <= 256 bytes including the index.
 *   B. Apply. 1,000,000 records of a mix (about 50,000 returning visitors; 93% page views, 4%
 *      custom events, 3% forms whose e-mail addresses create contacts, two visitors per
 *      address, so the second one merges), encoded in memory first. The baseline is
 *      le_record_decode alone over the same records; then decode + le_engine_apply in batches
 *      of 4096, the two timed apart, so that apply has a rate of its own. Best of 2 rounds,
 *      each on a new engine.
 *   C. Replay. 2,000,000 records of a larger mix (a third of the events from first-time
 *      visitors) appended through a real le_evlog_t (fsync off, 64 MiB segments) in a
 *      temporary directory, then the server's start-up path (server/scorer.c:
 *      le_logreader_open, le_engine_replay_all: le_logreader_next, le_record_decode and the
 *      batches' prefetching le_engine_apply, reading and decoding on a second thread when the
 *      process may use two CPUs) over the whole log: once after the segments were dropped from
 *      the page cache (fdatasync + POSIX_FADV_DONTNEED: a rebooted machine, as far as the
 *      virtual disk lets it be cold) and once with them cached (a restarted process), beside
 *      the baseline of reading and decoding only; with two CPUs also the one-thread path (the
 *      live follower's loop). Run under `taskset -c 1` it is the one-thread path alone. Goal
 *      >= 1M events/s. Then a snapshot of the state:
 *      le_engine_save, le_snapshot_write (temp file, fsync, rename), le_snapshot_read and
 *      le_engine_load into a new engine, checked to save byte for byte the same state.
 *
 *   D. The pixel benchmark's event. bench/run.sh's scoring section (six behaviour rules: URL
 *      globs, a regex, utm_source + utm_medium, a form rule; five fit rules) and what pixel/
 *      makes of its request: a page view of /pricing?utm_source=newsletter&utm_medium=email
 *      with a referrer, a title, the prop plan=enterprise and an enrichment (the fixture's
 *      shapes, six networks in turn), all from the one visitor id the benchmark sends. What
 *      the server's scorer thread does for each of them, on the worker's core: the baseline
 *      le_record_decode alone, the rules alone (le_lead_behaviour + le_lead_fit on a decoded
 *      event), and le_engine_replay over a real event log (one thread, as the live follower),
 *      the second of two passes into the same engine (the first grows its tables, as a scorer
 *      that has run a while has). Best of 3 rounds. Under callgrind, `-s D` with a small -p
 *      gives instructions per event (le_engine_replay: 6 calls of -p events each).
 *
 *     score_bench [-s sections] [-v visitors] [-n apply-events] [-r replay-events]
 *                 [-p pixel-events] [-d parent-dir]
 *
 *   -s picks sections by letter ("BD"); all by default.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <malloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "company.h"
#include "engine.h"
#include "evlog.h"
#include "lists.h"
#include "record.h"
#include "replay.h"
#include "rules.h"
#include "snapshot.h"

static const char yaml[] =
    "scoring:\n"
    "  behaviour:\n"
    "    half_life: 14d\n"
    "    rules:\n"
    "      - {name: pricing page, when: {event: pageview, url: \"*/pricing*\"}, points: 15,\n"
    "         max_per_day: 1}\n"
    "      - {name: product page, when: {event: pageview, url: [\"*/product/*\",\n"
    "         \"*/integrations/*\"]}, points: 5, max_per_day: 3}\n"
    "      - {name: docs, when: {event: pageview, url: \"*/docs/*\"}, points: 2, max_per_day: 5}\n"
    "      - {name: case study, when: {event: pageview,\n"
    "         url: {regex: \"/(customers|case-studies)/[a-z0-9-]+\"}}, points: 8, once: true}\n"
    "      - {name: careers page, when: {event: pageview, url: \"*/careers*\"}, points: -20}\n"
    "      - {name: newsletter click, when: {utm_source: newsletter, utm_medium: email},\n"
    "         points: 5, max_per_day: 1}\n"
    "      - {name: demo request, when: {event: form, form: demo}, points: 40, once: true}\n"
    "      - {name: content download, when: {event: form, form: [whitepaper, ebook]},\n"
    "         points: 20, once: true}\n"
    "      - {name: product tour, when: {event: video_complete, prop.video: \"product-*\"},\n"
    "         points: 10, max_per_day: 2}\n"
    "  fit:\n"
    "    rules:\n"
    "      - {name: DACH, when: {country: [DE, AT, CH]}, points: 10}\n"
    "      - {name: business network, when: {network: [business, government, education]},\n"
    "         points: 10}\n"
    "      - {name: known company, when: {company_known: true}, points: 5}\n"
    "      - {name: decision maker, when: {role: [decider, buyer]}, points: 15}\n"
    "      - {name: freemail, when: {email_domain: freemail}, points: -15}\n"
    "      - {name: disposable, when: {email_domain: disposable}, points: -30}\n"
    "mql:\n"
    "  behaviour: 50\n"
    "  fit: 20\n"
    "suppress:\n"
    "  competitor_domains: [rival.example]\n"
    "limits:\n"
    "  max_visitors: 1100000\n";

/* bench/run.sh's scoring section, as start_leadedge writes it (section D). */
static const char pixel_yaml[] =
    "scoring:\n"
    "  behaviour:\n"
    "    half_life: 14d\n"
    "    rules:\n"
    "      - {name: pricing page, when: {event: pageview, url: \"*/pricing*\"}, points: 15,\n"
    "         max_per_day: 1}\n"
    "      - {name: product page, when: {event: pageview, url: [\"*/product/*\", "
    "\"*/products/*\",\n"
    "         \"*/integrations/*\"]}, points: 5, max_per_day: 3}\n"
    "      - {name: case study, when: {event: pageview,\n"
    "         url: {regex: \"/(customers|case-studies)/[a-z0-9-]+\"}}, points: 8, once: true}\n"
    "      - {name: careers page, when: {event: pageview, url: \"*/careers*\"}, points: -20}\n"
    "      - {name: newsletter click, when: {utm_source: newsletter, utm_medium: email},\n"
    "         points: 5, max_per_day: 1}\n"
    "      - {name: demo request, when: {event: form, form: demo}, points: 40, once: true}\n"
    "  fit:\n"
    "    rules:\n"
    "      - {name: DACH, when: {country: [DE, AT, CH]}, points: 10}\n"
    "      - {name: business network, when: {network: [business, government, education]},\n"
    "         points: 10}\n"
    "      - {name: known company, when: {company_known: true}, points: 5}\n"
    "      - {name: decision maker, when: {role: [decider, buyer]}, points: 15}\n"
    "      - {name: freemail, when: {email_domain: freemail}, points: -15}\n"
    "mql:\n"
    "  behaviour: 50\n"
    "  fit: 20\n";

#define T0_MS 1795000000000LL
#define GOAL_BYTES 256.0
#define GOAL_REPLAY 1e6
#define NCOMPANIES 20000
#define BATCH 4096

/* ---- helpers ------------------------------------------------------------------------------ */

static char tmpdir[4096]; /* removed at exit when set */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static size_t heap_bytes(void) {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void cleanup(void) {
    if (tmpdir[0]) nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    tmpdir[0] = '\0';
}

static void die(const char *what, const char *msg) {
    fprintf(stderr, "score_bench: %s: %s\n", what, msg ? msg : "failed");
    exit(1);
}

/* The CPUs this process may run on (its affinity mask: taskset). */
static int cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    return sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
}

static const char *verdict(bool met) {
    return met ? "GOAL MET" : "BELOW GOAL";
}

/* ---- the engine, as server/scorer.c builds it --------------------------------------------- */

typedef struct {
    le_rules_t *rules;
    le_domains_t *freemail, *disposable;
} parts_t;

static void build_parts(const le_config_t *cfg, parts_t *p) {
    le_buf_t err = LE_BUF_INIT;
    if (le_rules_build(cfg, &p->rules, &err) != 0) die("rules", le_buf_cstr(&err));
    p->freemail = le_domains_new();
    p->disposable = le_domains_new();
    if (le_domains_load(p->freemail, "built-in freemail list",
                        (le_str_t){le_builtin_freemail, le_builtin_freemail_len}, &err) != 0 ||
        le_domains_load(p->disposable, "built-in disposable list",
                        (le_str_t){le_builtin_disposable, le_builtin_disposable_len}, &err) != 0)
        die("domain lists", le_buf_cstr(&err));
    le_buf_free(&err);
}

static le_engine_t *engine_new(const le_config_t *cfg) {
    parts_t p;
    build_parts(cfg, &p);
    return le_engine_new(cfg, p.rules, p.freemail, p.disposable);
}

/* ---- the event generator ------------------------------------------------------------------ */

static const struct {
    const char *cc, *country, *rc, *region, *city, *tz, *continent, *lang, *accept, *postal;
    double lat, lon;
} places[] = {
    {"DE", "Germany", "BE", "Land Berlin", "Berlin", "Europe/Berlin", "EU", "de-DE",
     "de-DE,de;q=0.9,en;q=0.8", "10115", 52.52, 13.40},
    {"DE", "Germany", "BY", "Bavaria", "Munich", "Europe/Berlin", "EU", "de-DE",
     "de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7", "80331", 48.14, 11.58},
    {"AT", "Austria", "9", "Vienna", "Vienna", "Europe/Vienna", "EU", "de-AT",
     "de-AT,de;q=0.9,en;q=0.8", "1010", 48.21, 16.37},
    {"CH", "Switzerland", "ZH", "Zurich", "Zurich", "Europe/Zurich", "EU", "de-CH",
     "de-CH,de;q=0.9,fr;q=0.7,en;q=0.6", "8001", 47.37, 8.54},
    {"US", "United States", "CA", "California", "San Francisco", "America/Los_Angeles", "NA",
     "en-US", "en-US,en;q=0.9", "94105", 37.79, -122.39},
    {"GB", "United Kingdom", "ENG", "England", "London", "Europe/London", "EU", "en-GB",
     "en-GB,en;q=0.9", "EC1A", 51.51, -0.09},
    {"FR", "France", "IDF", "Ile-de-France", "Paris", "Europe/Paris", "EU", "fr-FR",
     "fr-FR,fr;q=0.9,en;q=0.8", "75001", 48.86, 2.35},
    {"NL", "Netherlands", "NH", "North Holland", "Amsterdam", "Europe/Amsterdam", "EU", "nl-NL",
     "nl-NL,nl;q=0.9,en;q=0.8", "1012", 52.37, 4.89},
};

static const struct {
    const char *ua, *browser, *bv, *os, *ov;
} agents[] = {
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36",
     "Chrome", "131.0.0", "Windows", "10"},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4 Safari/605.1.15",
     "Safari", "17.4", "Mac OS X", "10.15.7"},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox",
     "133.0", "Windows", "10"},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
     "Edge", "131.0.0", "Windows", "10"},
};

/* Pages: the first NFIRING fire one behaviour rule each (as page views). */
static const struct {
    const char *path, *title;
} pages[] = {
    {"/pricing", "Pricing | Example GmbH"},
    {"/product/lead-scoring", "Lead scoring | Example GmbH"},
    {"/product/enrichment", "Enrichment | Example GmbH"},
    {"/integrations/salesforce", "Salesforce integration | Example GmbH"},
    {"/docs/api/getting-started", "Getting started | Example Docs"},
    {"/docs/guides/tracking-snippet", "The tracking snippet | Example Docs"},
    {"/customers/acme-logistics", "How Acme Logistics doubled its pipeline | Example GmbH"},
    {"/case-studies/retail-2026", "Retail case study | Example GmbH"},
    {"/careers/backend-engineer", "Backend engineer (m/w/d) | Example GmbH"},
    {"/", "Example GmbH: B2B lead scoring"},
    {"/blog/2026/what-is-an-mql", "What is an MQL? | Example Blog"},
    {"/about", "About us | Example GmbH"},
    {"/contact", "Contact | Example GmbH"},
    {"/imprint", "Imprint | Example GmbH"},
};
#define NFIRING 9
#define NPAGES LE_ARRAY_SIZE(pages)

/* Queries by share of 20: none 12, newsletter (fires a rule) 3, ads 2, social 2, nav 1. */
static const char *const queries[20] = {
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "?utm_source=newsletter&utm_medium=email&utm_campaign=2026-11",
    "?utm_source=newsletter&utm_medium=email&utm_campaign=2026-11",
    "?utm_source=newsletter&utm_medium=email&utm_campaign=webinar",
    "?utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=EAIaIQobChMI",
    "?utm_source=google&utm_medium=cpc&utm_campaign=generic",
    "?utm_source=linkedin&utm_medium=social&utm_campaign=launch",
    "?utm_source=linkedin&utm_medium=social",
    "?ref=nav",
};

static char company_name[NCOMPANIES][32], company_key[NCOMPANIES][32];

static void companies_init(void) {
    static const char *const forms[] = {"GmbH", "AG", "SE", "Ltd", "Inc.", "B.V."};
    for (unsigned i = 0; i < NCOMPANIES; i++) {
        snprintf(company_name[i], sizeof(company_name[i]), "Company %u %s", i,
                 forms[i % LE_ARRAY_SIZE(forms)]);
        le_company_key(company_name[i], strlen(company_name[i]), company_key[i],
                       sizeof(company_key[i]));
    }
}

/* Who visitor v is: fixed for the visitor. */
typedef struct {
    unsigned place, agent, net, company;
} who_t;

static void who(uint64_t v, who_t *w) {
    uint64_t h = mix64(v ^ 0x5bd1e995u);
    w->place = (unsigned)(h % LE_ARRAY_SIZE(places));
    w->agent = (unsigned)((h >> 8) % LE_ARRAY_SIZE(agents));
    unsigned r = (unsigned)((h >> 16) % 100);
    w->net = r < 55   ? LE_NET_BUSINESS
             : r < 60 ? LE_NET_EDUCATION
             : r < 88 ? LE_NET_ISP
             : r < 97 ? LE_NET_CELLULAR
                      : LE_NET_HOSTING;
    w->company = (unsigned)((h >> 24) % NCOMPANIES);
}

static bool has_company(const who_t *w) {
    return w->net == LE_NET_BUSINESS || w->net == LE_NET_EDUCATION;
}

/* One event being made; every string points into it or into static tables. */
typedef struct {
    le_event_t ev;
    le_kv_t props[1], fields[7];
    char url[192], ip[20], domain[40], email[96], last[24], phone[24];
} gen_t;

/* What every event of visitor v at t_ms has: id, time, request headers, enrichment. */
static void gen_base(gen_t *g, uint64_t v, int64_t t_ms) {
    le_event_t *ev = &g->ev;
    memset(ev, 0, sizeof(*ev));
    who_t w;
    who(v, &w);
    snprintf(ev->id, sizeof(ev->id), "%016llx%016llx", (unsigned long long)mix64(v * 2 + 1),
             (unsigned long long)mix64(v * 2 + 2));
    ev->time_ms = t_ms;
    ev->client_ts_ms = t_ms - 40;
    ev->id_kind = LE_ID_COOKIE;
    ev->consent = true;
    ev->vid = (le_str_t){ev->id, LE_ID_HEX_LEN};
    uint64_t h = mix64(v);
    snprintf(g->ip, sizeof(g->ip), "%u.%u.0.0", 80 + (unsigned)(h % 100),
             (unsigned)((h >> 8) & 255));
    ev->ip = le_str(g->ip);
    ev->ua = le_str(agents[w.agent].ua);
    ev->lang = le_str(places[w.place].accept);

    le_enrichment_t *x = &ev->x;
    ev->enriched = true;
    x->country_code = le_str(places[w.place].cc);
    x->country = le_str(places[w.place].country);
    x->region_code = le_str(places[w.place].rc);
    x->region = le_str(places[w.place].region);
    x->city = le_str(places[w.place].city);
    x->postal = le_str(places[w.place].postal);
    x->time_zone = le_str(places[w.place].tz);
    x->continent = le_str(places[w.place].continent);
    x->latitude = places[w.place].lat;
    x->longitude = places[w.place].lon;
    x->accuracy_km = 20;
    x->has_location = true;
    x->network = (uint8_t)w.net;
    switch (w.net) {
        case LE_NET_BUSINESS:
        case LE_NET_EDUCATION:
            snprintf(g->domain, sizeof(g->domain), "company%u.example", w.company);
            x->company = le_str(company_name[w.company]);
            x->company_key = le_str(company_key[w.company]);
            x->domain = le_str(g->domain);
            x->org = x->as_org = x->company;
            x->asn = 64512 + w.company;
            x->connection_type = LE_STR("Corporate");
            x->user_type = w.net == LE_NET_BUSINESS ? LE_STR("business") : LE_STR("university");
            break;
        case LE_NET_ISP:
            x->org = x->as_org = LE_STR("Deutsche Telekom AG");
            x->asn = 3320;
            x->connection_type = LE_STR("Cable/DSL");
            x->user_type = LE_STR("residential");
            break;
        case LE_NET_CELLULAR:
            x->org = x->as_org = LE_STR("Vodafone GmbH");
            x->asn = 3209;
            x->connection_type = LE_STR("Cellular");
            x->user_type = LE_STR("cellular");
            break;
        default:
            x->org = x->as_org = LE_STR("Hetzner Online GmbH");
            x->asn = 24940;
            x->user_type = LE_STR("hosting");
            x->anon = LE_ANON_HOSTING;
            x->bot_reasons = LE_BOT_NETWORK;
            break;
    }
    x->browser = le_str(agents[w.agent].browser);
    x->browser_version = le_str(agents[w.agent].bv);
    x->os = le_str(agents[w.agent].os);
    x->os_version = le_str(agents[w.agent].ov);
    x->device = LE_STR("Other");
    x->device_class = LE_DEV_DESKTOP;
    x->language = le_str(places[w.place].lang);
}

static void gen_page(gen_t *g, unsigned page, unsigned query) {
    le_event_t *ev = &g->ev;
    ev->type = LE_EV_PAGEVIEW;
    ev->source = LE_SRC_PIXEL;
    ev->name = LE_STR("pageview");
    int n = snprintf(g->url, sizeof(g->url), "https://www.example.com%s%s", pages[page].path,
                     queries[query]);
    ev->url = (le_str_t){g->url, (size_t)n};
    ev->title = le_str(pages[page].title);
    ev->ref = query >= 15 && query < 17 ? LE_STR("https://www.google.com/")
                                        : LE_STR("https://www.example.com/");
}

static void gen_custom(gen_t *g, uint64_t r) {
    static const char *const names[] = {"video_complete", "scroll_75", "download"};
    static const char *const videos[] = {"product-tour", "product-demo", "webinar-2026-10"};
    le_event_t *ev = &g->ev;
    ev->type = LE_EV_EVENT;
    ev->source = LE_SRC_BEACON;
    ev->name = le_str(names[r % 3]);
    ev->url = LE_STR("https://www.example.com/product/lead-scoring");
    ev->title = le_str(pages[1].title);
    g->props[0] = (le_kv_t){LE_STR("video"), le_str(videos[(r >> 4) % 3])};
    ev->props = g->props;
    ev->nprops = 1;
}

/* A form of visitor v; two visitors (devices) share each address, so the second one merges. */
static void gen_form(gen_t *g, uint64_t v, uint64_t r) {
    static const char *const forms[] = {"demo", "whitepaper", "newsletter", "contact"};
    static const char *const titles[] = {"Geschäftsführer",   "Head of Marketing", "Einkaufsleiter",
                                         "Software Engineer", "Marketing Manager", "Werkstudent"};
    le_event_t *ev = &g->ev;
    uint64_t k = v / 2;
    who_t w;
    who(k * 2, &w); /* the address's domain: the first visitor's company */
    unsigned d = (unsigned)(mix64(k ^ 0x77) % 100);
    if (d < 2)
        snprintf(g->email, sizeof(g->email), "n/a");
    else if (d < 30 || !has_company(&w))
        snprintf(g->email, sizeof(g->email), "jane.doe%llu@%s", (unsigned long long)k,
                 d % 2 ? "gmail.com" : "web.de");
    else
        snprintf(g->email, sizeof(g->email), "jane.doe%llu@company%u.example",
                 (unsigned long long)k, w.company);
    snprintf(g->last, sizeof(g->last), "Doe %llu", (unsigned long long)k);
    snprintf(g->phone, sizeof(g->phone), "+49 30 %07u", (unsigned)(k % 10000000));
    ev->type = LE_EV_FORM;
    ev->source = LE_SRC_FORM;
    ev->name = LE_STR("form");
    const char *form = forms[r % 4];
    ev->form_id = le_str(form);
    int n = snprintf(g->url, sizeof(g->url), "https://www.example.com/%s", form);
    ev->url = (le_str_t){g->url, (size_t)n};
    ev->title = le_str(pages[12].title);
    uint32_t f = 0;
    g->fields[f++] = (le_kv_t){LE_STR("email"), le_str(g->email)};
    g->fields[f++] = (le_kv_t){LE_STR("first_name"), LE_STR("Jane")};
    g->fields[f++] = (le_kv_t){LE_STR("last_name"), le_str(g->last)};
    g->fields[f++] = (le_kv_t){LE_STR("job_title"), le_str(titles[(k >> 3) % 6])};
    if (has_company(&w))
        g->fields[f++] = (le_kv_t){LE_STR("company"), le_str(company_name[w.company])};
    g->fields[f++] = (le_kv_t){LE_STR("phone"), le_str(g->phone)};
    ev->fields = g->fields;
    ev->nfields = f;
}

/* A mix: events of a pool of returning visitors (skewed towards some) and of new ones. */
typedef struct {
    uint64_t returning; /* visitors in the pool */
    unsigned new_pct;   /* share of events from first-time visitors */
    int64_t step_ms;    /* between events */
    uint64_t seed;
    uint64_t nnew; /* first-time visitors so far */
} mix_t;

static void gen_mix(gen_t *g, mix_t *m, uint64_t i) {
    uint64_t r = mix64(i ^ m->seed);
    uint64_t v;
    if (m->new_pct && r % 100 < m->new_pct) {
        v = m->returning + m->nnew++;
    } else {
        double u = (double)((r >> 8) & 0xffffff) / 16777216.0;
        v = (uint64_t)(u * u * (double)m->returning);
    }
    gen_base(g, v, T0_MS + (int64_t)i * m->step_ms);
    unsigned k = (unsigned)((r >> 32) % 100);
    if (k < 3)
        gen_form(g, v, r >> 40);
    else if (k < 7)
        gen_custom(g, r >> 40);
    else
        gen_page(g, (unsigned)((r >> 40) % NPAGES), (unsigned)((r >> 48) % 20));
}

/* ---- A: memory per visitor ---------------------------------------------------------------- */

static void bench_memory(const le_config_t *cfg, uint64_t nvis) {
    gen_t *g = calloc(1, sizeof(*g));
    parts_t p;
    build_parts(cfg, &p);
    size_t heap0 = heap_bytes();
    le_engine_t *e = le_engine_new(cfg, p.rules, p.freemail, p.disposable);
    uint64_t fired = 0, bad = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < nvis; i++) {
        gen_base(g, i, T0_MS + (int64_t)i * 500);
        gen_page(g, (unsigned)(i % NFIRING), mix64(i) % 10 < 3 ? 12 : 0);
        le_apply_t out;
        le_engine_apply(e, &g->ev, &out);
        fired += out.nfired;
        bad += !out.new_visitor;
    }
    double secs = now_s() - t0;
    size_t heap1 = heap_bytes();
    le_engine_stats_t st;
    le_engine_stats(e, &st);
    size_t mem = le_engine_memory(e);
    double per_mem = (double)mem / (double)st.visitors;
    double per_heap = (double)(heap1 - heap0) / (double)st.visitors;
    printf("== A. memory per visitor: %llu page views of %llu distinct anonymous visitors ==\n",
           (unsigned long long)nvis, (unsigned long long)nvis);
    printf("state: %llu visitors, %llu accounts, %.2f behaviour rules fired per event, %llu "
           "evicted, %llu not new; applied in %.2f s (%.0f events/s, table growing)\n",
           (unsigned long long)st.visitors, (unsigned long long)st.accounts,
           (double)fired / (double)nvis, (unsigned long long)st.evicted, (unsigned long long)bad,
           secs, (double)nvis / secs);
    /* the floor any table of these visitors has: the 16-byte ids alone; and the engine's fixed
     * part, a 64-byte entry plus the index (sized for limits.max_visitors at <= 2/3 load) */
    size_t idx = 64;
    while (idx < (size_t)cfg->limits.max_visitors * 3 / 2) idx <<= 1;
    double fixed = 64.0 + (double)(idx * sizeof(uint32_t)) / (double)st.visitors;
    printf("%-46s %12s %12s %10s\n", "what", "MB", "B/visitor", "goal");
    printf("%-46s %12.1f %12.1f\n", "floor: the 16-byte ids alone",
           16.0 * (double)st.visitors / 1e6, 16.0);
    printf("%-46s %12.1f %12.1f\n", "floor: 64-byte entries + index slots",
           fixed * (double)st.visitors / 1e6, fixed);
    printf("%-46s %12.1f %12.1f %10s  %s\n", "le_engine_memory()", (double)mem / 1e6, per_mem,
           "<= 256", verdict(per_mem <= GOAL_BYTES));
    if (heap1 > heap0)
        printf("%-46s %12.1f %12.1f %10s  %s\n", "malloc heap growth (uordblks + hblkhd)",
               (double)(heap1 - heap0) / 1e6, per_heap, "<= 256", verdict(per_heap <= GOAL_BYTES));
    else /* a sanitizer's allocator: glibc's counters do not see it */
        printf("%-46s %12s %12s\n", "malloc heap growth (uordblks + hblkhd)", "n/a", "n/a");
    le_engine_free(e);
    free(g);
}

/* ---- B: apply throughput ------------------------------------------------------------------ */

typedef struct {
    msgpack_sbuffer sb;
    size_t *off; /* n + 1 offsets into sb */
    size_t n;
} records_t;

/* Decode every record, the arena reset per record as the scorer does; the seconds it took.
 * sink keeps the work from being optimised away. */
static double decode_all(const records_t *rs, le_arena_t *a, unsigned *sink) {
    double t0 = now_s();
    for (size_t i = 0; i < rs->n; i++) {
        le_event_t ev;
        le_arena_reset(a);
        if (le_record_decode(rs->sb.data + rs->off[i], rs->off[i + 1] - rs->off[i], &ev, a))
            die("decode", "a record does not decode");
        *sink += ev.type;
    }
    return now_s() - t0;
}

static void bench_apply(const le_config_t *cfg, uint64_t n, uint64_t pool) {
    gen_t *g = calloc(1, sizeof(*g));
    records_t rs = {.off = malloc((n + 1) * sizeof(size_t)), .n = n};
    msgpack_sbuffer_init(&rs.sb);
    mix_t m = {.returning = pool, .step_ms = 250, .seed = 0xb0b};
    for (uint64_t i = 0; i < n; i++) {
        rs.off[i] = rs.sb.size;
        gen_mix(g, &m, i);
        le_record_encode(&g->ev, &rs.sb);
    }
    rs.off[n] = rs.sb.size;

    le_event_t *evs = malloc(BATCH * sizeof(*evs));
    le_arena_t a;
    le_arena_init(&a, NULL, 0);
    double best_dec = 1e30, best_bdec = 1e30, best_app = 1e30;
    le_engine_stats_t st = {0};
    size_t mem = 0;
    unsigned sink = 0;
    for (int round = 0; round < 2; round++) {
        /* baseline: decode only, the arena reset per record as the scorer does */
        double dec = decode_all(&rs, &a, &sink);
        if (dec < best_dec) best_dec = dec;

        /* decode a batch, then apply it: timed apart */
        le_engine_t *e = engine_new(cfg);
        double bdec = 0, app = 0;
        for (size_t b = 0; b < n; b += BATCH) {
            size_t k = n - b < BATCH ? n - b : BATCH;
            le_arena_reset(&a);
            double s0 = now_s();
            for (size_t j = 0; j < k; j++) {
                size_t i = b + j;
                if (le_record_decode(rs.sb.data + rs.off[i], rs.off[i + 1] - rs.off[i], &evs[j],
                                     &a))
                    die("decode", "a record does not decode");
            }
            double s1 = now_s();
            for (size_t j = 0; j < k; j++) {
                le_apply_t out;
                le_engine_apply(e, &evs[j], &out);
                sink += out.nfired;
            }
            double s2 = now_s();
            bdec += s1 - s0;
            app += s2 - s1;
        }
        if (app < best_app) best_app = app;
        if (bdec < best_bdec) best_bdec = bdec;
        le_engine_stats(e, &st);
        mem = le_engine_memory(e);
        le_engine_free(e);
    }
    le_arena_free(&a);

    double dn = (double)n;
    printf("\n== B. apply: %llu events, mix of ~%llu returning visitors (93%% page views, 4%% "
           "custom events, 3%% forms), best of 2 ==\n",
           (unsigned long long)n, (unsigned long long)pool);
    printf("records: %.1f MB encoded, %.0f bytes each; state: %llu visitors, %llu contacts, "
           "%llu accounts, %llu merges, %llu bad e-mails, %llu MQLs; %.1f MB\n",
           (double)rs.sb.size / 1e6, (double)rs.sb.size / dn, (unsigned long long)st.visitors,
           (unsigned long long)st.contacts, (unsigned long long)st.accounts,
           (unsigned long long)st.merges, (unsigned long long)st.bad_emails,
           (unsigned long long)st.mqls, (double)mem / 1e6);
    printf("%-46s %12s %12s\n", "what", "events/s", "ns/event");
    printf("%-46s %12.0f %12.1f\n", "baseline: le_record_decode only", dn / best_dec,
           best_dec * 1e9 / dn);
    printf("%-46s %12.0f %12.1f\n", "le_engine_apply (decoded batches)", dn / best_app,
           best_app * 1e9 / dn);
    printf("%-46s %12.0f %12.1f\n", "decode + apply", dn / (best_bdec + best_app),
           (best_bdec + best_app) * 1e9 / dn);
    printf("apply costs %.2fx a decode\n", best_app / best_dec);
    if (sink == 1) printf("\n"); /* keeps the loops' results alive */
    free(evs);
    free(rs.off);
    msgpack_sbuffer_destroy(&rs.sb);
    free(g);
}

/* ---- C: start-up replay and snapshots ----------------------------------------------------- */

/* fdatasync every segment and drop it from the page cache; returns the segments' bytes. */
static uint64_t drop_cache(const char *dir, unsigned *nseg) {
    DIR *d = opendir(dir);
    if (!d) die("opendir", strerror(errno));
    uint64_t bytes = 0;
    *nseg = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (strncmp(de->d_name, "events-", 7) != 0 || len < 4 ||
            strcmp(de->d_name + len - 4, ".log") != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) die(path, strerror(errno));
        if (fdatasync(fd) != 0) die("fdatasync", strerror(errno));
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        bytes += (uint64_t)lseek(fd, 0, SEEK_END);
        close(fd);
        (*nseg)++;
    }
    closedir(d);
    return bytes;
}

/* The scorer's start-up replay of the whole log into e (NULL: read and decode only): its own
 * function (le_engine_replay_all: batches, prefetch, and reading and decoding on a second
 * thread when the process may use two CPUs), in mode (the server's is LE_REPLAY_AUTO), the
 * mode used into *used. Returns the seconds; *n the records, *end the position after the last
 * one. */
static double replay(const char *dir, le_engine_t *e, le_replay_mode_t mode, le_replay_mode_t *used,
                     uint64_t *n, le_logpos_t *end) {
    static const le_logpos_t all = {UINT32_MAX, UINT64_MAX};
    static le_replay_buf_t rb; /* as the scorer: no allocation per record */
    le_replay_buf_init(&rb);
    le_logreader_t *rd;
    char *msg = NULL;
    int rc;
    uint64_t k = 0, bad = 0;
    double t0 = now_s();
    if ((rc = le_logreader_open(dir, (le_logpos_t){0, 0}, &rd, &msg)) != 0) die("open", msg);
    if (e) {
        int64_t got = le_engine_replay_all(e, rd, all, mode, &rb, NULL, NULL, &bad, &msg, used);
        if (got < 0) die("replay", msg);
        if (bad) die("replay", "undecodable record");
        k = (uint64_t)got;
    } else {
        const void *p;
        size_t len;
        while ((rc = le_logreader_next(rd, all, &p, &len, &msg)) == 1) {
            le_event_t ev;
            le_arena_reset(&rb.arena);
            if (le_record_decode(p, len, &ev, &rb.arena) != 0) die("replay", "undecodable record");
            k++;
        }
        if (rc < 0) die("replay", msg);
    }
    *end = le_logreader_pos(rd);
    le_logreader_close(rd);
    double secs = now_s() - t0;
    le_replay_buf_free(&rb);
    *n = k;
    return secs;
}

/* A new event log in logdir, a folder of a new tmpdir under parent (removed by cleanup()),
 * opened the way the server opens its own but without fsync. */
static le_evlog_t *open_log(const char *parent, char logdir[static sizeof(tmpdir) + 8]) {
    snprintf(tmpdir, sizeof(tmpdir), "%s/score-bench-XXXXXX", parent);
    if (!mkdtemp(tmpdir)) {
        tmpdir[0] = '\0';
        die("mkdtemp", strerror(errno));
    }
    snprintf(logdir, sizeof(tmpdir) + 8, "%s/data", tmpdir);
    le_evlog_opts_t o = {.dir = logdir,
                         .segment_size = 64u << 20,
                         .fsync_mode = LE_FSYNC_NEVER,
                         .fsync_interval_ms = 10,
                         .buffer_limit = 256u << 20};
    le_evlog_t *l;
    char *msg = NULL;
    if (le_evlog_open(&l, &o, &msg) != 0) die("evlog open", msg);
    return l;
}

static void bench_replay(const le_config_t *cfg, uint64_t n, const char *parent) {
    /* the log, written the way the workers write it */
    char logdir[sizeof(tmpdir) + 8];
    le_evlog_t *l = open_log(parent, logdir);
    char *msg = NULL;
    gen_t *g = calloc(1, sizeof(*g));
    mix_t m = {.returning = 200000, .new_pct = 33, .step_ms = 100, .seed = 0xc0ffee};
    uint64_t full = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        gen_mix(g, &m, i);
        int rc;
        while ((rc = le_evlog_append(l, &g->ev)) == LE_EFULL) {
            full++;
            sched_yield();
        }
        if (rc) die("append", strerror(-rc));
    }
    le_evlog_close(l);
    double wsecs = now_s() - t0;
    free(g);
    unsigned nseg;
    double d0 = now_s();
    uint64_t bytes = drop_cache(logdir, &nseg);
    double dsecs = now_s() - d0;

    printf("\n== C. start-up replay: %llu records (%.1f MB, %u segments, %.0f bytes each) ==\n",
           (unsigned long long)n, (double)bytes / 1e6, nseg, (double)bytes / (double)n);
    printf("written through le_evlog_append (fsync off, generator included) at %.0f events/s, "
           "%llu EFULL retries; fdatasync + drop from page cache %.1f s\n",
           (double)n / wsecs, (unsigned long long)full, dsecs);

    uint64_t k_cold, k_dec, k_warm, k_one = n;
    le_logpos_t end;
    le_replay_mode_t used, used_warm;
    le_engine_t *e = engine_new(cfg);
    double cold = replay(logdir, e, LE_REPLAY_AUTO, &used_warm, &k_cold, &end);
    le_engine_free(e);
    double dec = replay(logdir, NULL, LE_REPLAY_AUTO, &used, &k_dec, &end);
    /* with a second CPU the server reads on a second thread: what one thread makes of it */
    double one = 0;
    if (used_warm == LE_REPLAY_TWO_THREADS) {
        e = engine_new(cfg);
        one = replay(logdir, e, LE_REPLAY_ONE_THREAD, &used, &k_one, &end);
        le_engine_free(e);
    }
    e = engine_new(cfg);
    double warm = replay(logdir, e, LE_REPLAY_AUTO, &used_warm, &k_warm, &end);
    if (k_cold != n || k_dec != n || k_warm != n || k_one != n)
        die("replay", "record count differs");

    le_engine_stats_t st;
    le_engine_stats(e, &st);
    size_t mem = le_engine_memory(e);
    double dn = (double)n;
    printf("state: %llu visitors, %llu contacts, %llu accounts, %llu merges, %llu MQLs; "
           "le_engine_memory %.1f MB (%.0f B/visitor)\n",
           (unsigned long long)st.visitors, (unsigned long long)st.contacts,
           (unsigned long long)st.accounts, (unsigned long long)st.merges,
           (unsigned long long)st.mqls, (double)mem / 1e6, (double)mem / (double)st.visitors);
    printf("%-46s %12s %10s %12s\n", "what", "events/s", "seconds", "goal");
    printf("%-46s %12.0f %10.3f\n", "baseline: logreader + decode only (cached)", dn / dec, dec);
    printf("%-46s %12.0f %10.3f %12s  %s\n", "replay: read + decode + apply (cached)", dn / warm,
           warm, ">= 1000000", verdict(dn / warm >= GOAL_REPLAY));
    if (one > 0)
        printf("%-46s %12.0f %10.3f\n", "  the same on one thread (cached)", dn / one, one);
    printf("%-46s %12.0f %10.3f %12s  %s\n", "replay: read + decode + apply (cold cache)",
           dn / cold, cold, ">= 1000000", verdict(dn / cold >= GOAL_REPLAY));
    printf("replay on %s (the process may use %d CPU%s)\n",
           used_warm == LE_REPLAY_TWO_THREADS ? "two threads: read + decode beside apply"
                                              : "one thread",
           cpus(), cpus() == 1 ? "" : "s");
    if (used_warm == LE_REPLAY_ONE_THREAD)
        printf("apply share of the cached replay: %.0f%%\n", 100.0 * (warm - dec) / warm);

    /* a snapshot of that state, the scorer's way, and back */
    le_buf_t b = LE_BUF_INIT, rb = LE_BUF_INIT, again = LE_BUF_INIT;
    double s0 = now_s();
    le_engine_save(e, &b);
    double s1 = now_s();
    if (le_snapshot_write(logdir, end, b.data, b.len, &msg) != 0) die("snapshot write", msg);
    double s2 = now_s();
    le_logpos_t pos;
    if (le_snapshot_read(logdir, &pos, &rb, &msg) != 0) die("snapshot read", msg);
    double s3 = now_s();
    le_engine_t *e2 = engine_new(cfg);
    const char *why = NULL;
    double s4 = now_s();
    if (le_engine_load(e2, rb.data, rb.len, &why) != 0) die("snapshot load", why);
    double s5 = now_s();
    le_engine_save(e2, &again);
    bool same = again.len == b.len && memcmp(again.data, b.data, b.len) == 0 &&
                le_logpos_cmp(pos, end) == 0;
    printf("snapshot: %.1f MB (%.0f B/visitor); save %.0f ms, write + fsync %.0f ms, read %.0f "
           "ms, load %.0f ms (%.0f records/s); reloaded state %s\n",
           (double)b.len / 1e6, (double)b.len / (double)st.visitors, (s1 - s0) * 1e3,
           (s2 - s1) * 1e3, (s3 - s2) * 1e3, (s5 - s4) * 1e3,
           (double)(st.visitors + st.contacts + st.accounts) / (s5 - s4),
           same ? "saves identically" : "DIFFERS");
    le_buf_free(&b);
    le_buf_free(&rb);
    le_buf_free(&again);
    le_engine_free(e2);
    le_engine_free(e);
    cleanup();
    if (!same) exit(1);
}

/* ---- D: the pixel benchmark's event ------------------------------------------------------- */

/* The event bench/run.sh's request becomes (pixel/params.c, fill_common), enriched with the
 * shapes of the benchmark's MMDB fixture (tests/fixtures/make_mmdb.pl make_bench): addresses
 * in turn, so network k of six user types, a company on business, government and college
 * networks. */
static void gen_pixel(gen_t *g, uint64_t i) {
    static const uint8_t nets[6] = {LE_NET_BUSINESS, LE_NET_ISP,        LE_NET_CELLULAR,
                                    LE_NET_HOSTING,  LE_NET_GOVERNMENT, LE_NET_EDUCATION};
    static le_kv_t props[1];
    le_event_t *ev = &g->ev;
    unsigned k = (unsigned)(i % 6);
    memset(ev, 0, sizeof(*ev));
    memcpy(ev->id, "0123456789abcdef0123456789abcdef", LE_ID_HEX_LEN + 1);
    ev->time_ms = T0_MS + (int64_t)i;
    ev->client_ts_ms = 1764175561123LL;
    ev->type = LE_EV_PAGEVIEW;
    ev->source = LE_SRC_PIXEL;
    ev->id_kind = LE_ID_COOKIE;
    ev->consent = true;
    ev->name = LE_STR("pageview");
    ev->url = LE_STR("https://www.example.com/pricing?utm_source=newsletter&utm_medium=email");
    ev->ref = LE_STR("https://www.example.com/products/widget");
    ev->title = LE_STR("Pricing \xe2\x80\x93 Example GmbH");
    ev->vid = (le_str_t){ev->id, LE_ID_HEX_LEN};
    props[0] = (le_kv_t){LE_STR("plan"), LE_STR("enterprise")};
    ev->props = props;
    ev->nprops = 1;
    snprintf(g->ip, sizeof(g->ip), "%u.%u.0.0", 11 + k, 40 + k);
    ev->ip = le_str(g->ip);
    ev->ua = le_str(agents[0].ua);
    ev->lang = LE_STR("de-DE,de;q=0.9,en;q=0.8");

    le_enrichment_t *x = &ev->x;
    ev->enriched = true;
    x->country_code = LE_STR("BA");
    x->country = LE_STR("Country 1 (en)");
    x->region_code = LE_STR("S1");
    x->region = LE_STR("Region 1 (en)");
    x->city = LE_STR("City 1 (en)");
    x->postal = LE_STR("00007");
    x->time_zone = LE_STR("Zone/City_1");
    x->continent = LE_STR("C1");
    x->latitude = -59;
    x->longitude = -169;
    x->accuracy_km = 6;
    x->has_location = true;
    x->network = nets[k];
    x->org = LE_STR("Org 1");
    x->as_org = LE_STR("AS 1");
    x->asn = 64513;
    x->connection_type = k % 2 ? LE_STR("Corporate") : LE_STR("Cable/DSL");
    x->user_type = LE_STR("business");
    if (nets[k] == LE_NET_BUSINESS || nets[k] == LE_NET_GOVERNMENT || nets[k] == LE_NET_EDUCATION) {
        x->company = LE_STR("Org 1");
        x->company_key = LE_STR("org 1");
        x->domain = LE_STR("org1.example");
    }
    if (nets[k] == LE_NET_HOSTING) x->bot_reasons = LE_BOT_NETWORK;
    x->browser = LE_STR("Chrome");
    x->browser_version = LE_STR("131.0.0");
    x->os = LE_STR("Windows");
    x->os_version = LE_STR("10");
    x->device = LE_STR("Other");
    x->device_class = LE_DEV_DESKTOP;
    x->language = LE_STR("de-DE");
}

static void bench_pixel(const le_config_t *cfg, uint64_t n, const char *parent) {
    gen_t *g = calloc(1, sizeof(*g));
    records_t rs = {.off = malloc((n + 1) * sizeof(size_t)), .n = n};
    msgpack_sbuffer_init(&rs.sb);
    for (uint64_t i = 0; i < n; i++) {
        rs.off[i] = rs.sb.size;
        gen_pixel(g, i);
        le_record_encode(&g->ev, &rs.sb);
    }
    rs.off[n] = rs.sb.size;

    /* the same records in a real event log, for the scorer's loop */
    char logdir[sizeof(tmpdir) + 8];
    le_evlog_t *l = open_log(parent, logdir);
    char *msg = NULL;
    for (uint64_t i = 0; i < n; i++) {
        gen_pixel(g, i);
        int rc;
        while ((rc = le_evlog_append(l, &g->ev)) == LE_EFULL) sched_yield();
        if (rc) die("append", strerror(-rc));
    }
    le_evlog_close(l);

    /* the arena starts in a buffer, as the scorer's (le_replay_buf_t): resetting it frees
     * nothing, so a decode costs no malloc */
    static char first[64 * 1024];
    le_arena_t a;
    le_arena_init(&a, first, sizeof(first));
    le_replay_buf_t *rb = malloc(sizeof(*rb));
    le_replay_buf_init(rb);
    double best_dec = 1e30, best_rules = 1e30, best_replay = 1e30;
    unsigned sink = 0;
    le_apply_t last = {0};
    for (int round = 0; round < 3; round++) {
        /* baseline: decode only, the arena reset per record as the scorer does */
        double dec = decode_all(&rs, &a, &sink);
        if (dec < best_dec) best_dec = dec;

        /* the rules alone: behaviour and fit of one anonymous lead, on decoded events (the
         * decoding not timed) */
        le_engine_t *e = engine_new(cfg);
        le_rules_t *rules;
        le_buf_t err = LE_BUF_INIT;
        if (le_rules_build(cfg, &rules, &err) != 0) die("rules", le_buf_cstr(&err));
        le_buf_free(&err);
        le_lead_t lead = {0};
        double rules_s = 0;
        for (size_t b = 0; b < n; b += BATCH) {
            size_t k = n - b < BATCH ? n - b : BATCH;
            le_event_t *evs = malloc(k * sizeof(*evs));
            le_arena_reset(&a);
            for (size_t j = 0; j < k; j++)
                if (le_record_decode(rs.sb.data + rs.off[b + j], rs.off[b + j + 1] - rs.off[b + j],
                                     &evs[j], &a))
                    die("decode", "a record does not decode");
            double s0 = now_s();
            for (size_t j = 0; j < k; j++) {
                le_fired_t fired[8];
                sink += (unsigned)le_lead_behaviour(&lead, rules, &evs[j], 14 * 86400.0, fired, 8);
                le_fit_facts_t f = {
                    .x = &evs[j].x, .email_kind = -1, .company_size = -1, .company_match = -1};
                sink += (unsigned)le_lead_fit(&lead, rules, &f);
            }
            rules_s += now_s() - s0;
            free(evs);
        }
        if (rules_s < best_rules) best_rules = rules_s;
        le_lead_free(&lead);
        le_rules_free(rules);

        /* the scorer's loop over the log: read, decode, apply. Twice, the first pass not timed:
         * it grows the engine's tables (the journey ring's text, touched for the first time),
         * which a scorer that has run a while has done, and the second pass pays only what
         * every event costs. */
        for (int pass = 0; pass < 2; pass++) {
            static const le_logpos_t all = {UINT32_MAX, UINT64_MAX};
            le_logreader_t *rd;
            uint64_t bad = 0;
            double t0 = now_s();
            if (le_logreader_open(logdir, (le_logpos_t){0, 0}, &rd, &msg) != 0) die("open", msg);
            int64_t got = le_engine_replay(e, rd, all, 0, rb, NULL, NULL, &bad, &msg);
            le_logreader_close(rd);
            double rep = now_s() - t0;
            if (got != (int64_t)n || bad) die("replay", msg ? msg : "record count differs");
            if (pass == 1 && rep < best_replay) best_replay = rep;
        }
        gen_pixel(g, n);
        le_engine_apply(e, &g->ev, &last); /* what one more event does: the state, in brief */
        le_engine_free(e);
    }
    le_replay_buf_free(rb);
    free(rb);
    le_arena_free(&a);
    cleanup();

    double dn = (double)n;
    printf("\n== D. the pixel benchmark's event: %llu page views of one visitor (bench/run.sh's "
           "rules and request), best of 3 ==\n",
           (unsigned long long)n);
    printf("records: %.0f bytes each; the lead after them: behaviour %.1f, fit %d, suppress 0x%x\n",
           (double)rs.sb.size / dn, (double)last.behaviour, last.fit, last.suppress);
    printf("%-46s %12s %12s\n", "what", "events/s", "ns/event");
    printf("%-46s %12.0f %12.1f\n", "baseline: le_record_decode only", dn / best_dec,
           best_dec * 1e9 / dn);
    printf("%-46s %12.0f %12.1f\n", "rules only: le_lead_behaviour + le_lead_fit", dn / best_rules,
           best_rules * 1e9 / dn);
    printf("%-46s %12.0f %12.1f\n", "le_engine_replay: read + decode + apply", dn / best_replay,
           best_replay * 1e9 / dn);
    if (sink == 1) printf("\n"); /* keeps the loops' results alive */
    free(rs.off);
    msgpack_sbuffer_destroy(&rs.sb);
    free(g);
}

int main(int argc, char **argv) {
    uint64_t nvis = 1000000, napply = 1000000, nreplay = 2000000, npixel = 300000;
    const char *parent = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    const char *sections = "ABCD";
    int c;
    while ((c = getopt(argc, argv, "s:v:n:r:p:d:")) != -1) {
        switch (c) {
            case 's':
                sections = optarg;
                break;
            case 'p':
                npixel = strtoull(optarg, NULL, 10);
                break;
            case 'v':
                nvis = strtoull(optarg, NULL, 10);
                break;
            case 'n':
                napply = strtoull(optarg, NULL, 10);
                break;
            case 'r':
                nreplay = strtoull(optarg, NULL, 10);
                break;
            case 'd':
                parent = optarg;
                break;
            default:
                fprintf(stderr,
                        "usage: %s [-s ABCD] [-v visitors] [-n apply-events] [-r replay-events] "
                        "[-p pixel-events] [-d dir]\n",
                        argv[0]);
                return 2;
        }
    }
    if (nvis < 1 || nvis > 1100000 || napply < 1 || nreplay < 1 || npixel < 1) {
        fprintf(stderr, "score_bench: -v 1..1100000 (limits.max_visitors), -n, -r and -p >= 1\n");
        return 2;
    }
    atexit(cleanup);
    le_config_t *cfg;
    le_buf_t err = LE_BUF_INIT;
    if (le_config_load_string("score_bench.yaml", yaml, sizeof(yaml) - 1, &cfg, &err) != 0)
        die("config", le_buf_cstr(&err));
    le_buf_free(&err);
    companies_init();
    printf("scoring: %zu behaviour and %zu fit rules (globs, a regex, UTM, once, max_per_day), "
           "limits.max_visitors %u, built-in domain lists\n\n",
           cfg->scoring.behaviour.rules.n, cfg->scoring.fit.rules.n, cfg->limits.max_visitors);
    double t0 = now_s();
    if (strchr(sections, 'A')) bench_memory(cfg, nvis);
    if (strchr(sections, 'B')) bench_apply(cfg, napply, 50000);
    if (strchr(sections, 'C')) bench_replay(cfg, nreplay, parent);
    if (strchr(sections, 'D')) {
        le_config_t *pcfg;
        if (le_config_load_string("run.sh.yaml", pixel_yaml, sizeof(pixel_yaml) - 1, &pcfg, &err) !=
            0)
            die("config", le_buf_cstr(&err));
        bench_pixel(pcfg, npixel, parent);
        le_config_unref(pcfg);
    }
    printf("\nscore_bench: %.1f s in all\n", now_s() - t0);
    le_buf_free(&err);
    le_config_unref(cfg);
    return 0;
}
