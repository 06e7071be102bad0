/*
 * bot.h: is this event a bot's, and why.
 *
 * For marketing scores a "bot" is anything that is not a person looking at the page in a
 * browser: search and AI crawlers, SEO tools, uptime and performance monitors, link-preview
 * fetchers (Slack, WhatsApp, LinkedIn, Facebook...), headless and automated browsers, and
 * HTTP libraries and command-line tools. The verdict is a set of reasons (the LE_BOT_* bits
 * in event.h); an event is a bot's when any reason is set. docs/enrich-text.md lists them.
 *
 * Pure: no I/O, no logging, thread-safe, no allocation. The User-Agent scan is one pass
 * over the string (a few comparisons per byte); its result depends on the User-Agent only,
 * so the UA cache may store le_bot_ua_token() and pass it to le_bot_check_token().
 */
#ifndef LE_BOT_H
#define LE_BOT_H

#include "event.h"
#include "le.h"
#include "network.h"

typedef struct {
    le_str_t ua;              /* User-Agent as sent; empty when absent */
    bool ua_spider;           /* uap-core said device family Spider */
    bool ua_browser;          /* uap-core recognised a browser family */
    bool has_accept_language; /* the request carried a non-empty Accept-Language */
    le_network_t network;     /* LE_NET_UNKNOWN when there is no verdict or the check is off */
    bool honeypot;            /* a form's honeypot field was filled */
    int64_t form_fill_ms;     /* how long the form was open; -1 unknown */
    uint32_t min_form_ms;     /* a form sent sooner is a bot's; 0 turns the check off */
} le_bot_input_t;

/*
 * The LE_BOT_* reasons that apply to in; 0 means not a bot.
 *   LE_BOT_UA_SPIDER    in->ua_spider
 *   LE_BOT_UA_TOKEN     le_bot_ua_token(in->ua)
 *   LE_BOT_EMPTY_UA     the User-Agent is empty, blank, or "-"
 *   LE_BOT_NETWORK      in->network is LE_NET_HOSTING or LE_NET_ANONYMISER
 *   LE_BOT_NO_LANGUAGE  in->ua_browser and no Accept-Language (browsers always send one)
 *   LE_BOT_HONEYPOT     in->honeypot
 *   LE_BOT_FAST_FORM    in->min_form_ms > 0 and 0 <= in->form_fill_ms < in->min_form_ms
 */
uint32_t le_bot_check(const le_bot_input_t *in);

/* The same with the User-Agent token verdict already known (from the UA cache). */
uint32_t le_bot_check_token(const le_bot_input_t *in, bool ua_token);

/*
 * Does the User-Agent carry a bot, tool or headless-browser token? Case-insensitive:
 * words ending in "bot"/"bots" (Googlebot, AhrefsBot, Slackbot-LinkExpanding; not Cubot
 * phones, "Robot" model names or "Botswana"), "spider", "crawl", a URL (http:// https://),
 * headless and automation markers, HTTP libraries and tools (curl, Wget, python-requests,
 * Go-http-client, Java/, okhttp, ...), monitors (Pingdom, UptimeRobot, Lighthouse, ...)
 * and link-preview fetchers (facebookexternalhit, WhatsApp, ...). O(len), no allocation.
 */
bool le_bot_ua_token(le_str_t ua);

/*
 * The reason names of mask, in bit order, comma-separated ("ua_token,network") into out: at
 * most cap - 1 bytes and a NUL (nothing when cap is 0). Bits that are not reasons are
 * skipped. Returns the length of the whole list like snprintf (>= cap: cut). The longest
 * list fits in LE_BOT_REASONS_MAX bytes. le_bot_reason_name() (event.h) names one bit.
 */
#define LE_BOT_REASONS_MAX 80
size_t le_bot_reasons_format(uint32_t mask, char *out, size_t cap);

#endif
