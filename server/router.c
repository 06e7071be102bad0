/*
 * router.c: path -> handler, and the bookkeeping around a handler's result.
 */
#include "router.h"

le_route_t le_router_match(le_str_t path) {
    switch (path.len) {
        case 2:
            if (le_str_eq(path, "/e")) return LE_ROUTE_BEACON;
            if (le_str_eq(path, "/f")) return LE_ROUTE_FORM;
            break;
        case 5:
            if (le_str_eq(path, "/t.js")) return LE_ROUTE_TRACKER;
            break;
        case 6:
            if (le_str_eq(path, "/p.gif")) return LE_ROUTE_GIF;
            break;
        case 8:
            if (le_str_eq(path, "/healthz")) return LE_ROUTE_HEALTH;
            break;
    }
    return LE_ROUTE_NONE;
}

bool le_router_allows(le_route_t route, uint8_t method, const char **allow) {
    switch (route) {
        case LE_ROUTE_BEACON:
        case LE_ROUTE_FORM:
            *allow = "POST, OPTIONS";
            return method == LE_M_POST || method == LE_M_OPTIONS;
        case LE_ROUTE_GIF:
        case LE_ROUTE_TRACKER:
        case LE_ROUTE_HEALTH:
            *allow = "GET, HEAD";
            return method == LE_M_GET || method == LE_M_HEAD;
        default:
            *allow = "";
            return false;
    }
}

static const le_counter_t reject_counter[] = {
    [LE_PIX_ORIGIN] = LE_C_REJ_ORIGIN,
    [LE_PIX_MEDIA_TYPE] = LE_C_REJ_MEDIA_TYPE,
    [LE_PIX_BAD_BODY] = LE_C_REJ_BAD_BODY,
    [LE_PIX_TOO_MANY] = LE_C_REJ_TOO_MANY,
};

/* Append the events; returns how many the log refused (full or failed). */
static uint32_t store(le_router_ctx_t *ctx, le_pixel_resp_t *resp) {
    le_metrics_t *m = ctx->metrics;
    uint32_t refused = 0;
    le_metrics_add(m, LE_C_EV_BAD, resp->bad_events);
    for (uint32_t i = 0; i < resp->nevents; i++) {
        le_event_t *ev = &resp->events[i];
        uint64_t seq = 0;
        if (ctx->log && le_evlog_append_seq(ctx->log, ev, &seq) != 0) {
            le_metrics_inc(m, LE_C_EV_REFUSED);
            refused++;
            continue;
        }
        if (ctx->hold_forms && ev->type == LE_EV_FORM && seq > ctx->hold_seq) ctx->hold_seq = seq;
        if (ev->bot)
            le_metrics_inc(m, ev->type == LE_EV_PAGEVIEW ? LE_C_EV_BOT_PAGEVIEW
                              : ev->type == LE_EV_FORM   ? LE_C_EV_BOT
                                                         : LE_C_EV_BOT_EVENT);
        else
            le_metrics_inc(m, ev->type == LE_EV_PAGEVIEW ? LE_C_EV_PAGEVIEW
                              : ev->type == LE_EV_FORM   ? LE_C_EV_FORM
                                                         : LE_C_EV_EVENT);
    }
    return refused;
}

void le_router_handle(le_router_ctx_t *ctx, le_route_t route, const le_pixel_req_t *req,
                      le_pixel_resp_t *resp) {
    bool preflight = req->method == LE_M_OPTIONS;
    switch (route) {
        case LE_ROUTE_GIF:
            le_pixel_gif(req, resp);
            if (req->method == LE_M_HEAD) return; /* a probe, not a page view */
            break;
        case LE_ROUTE_BEACON:
            preflight ? le_pixel_preflight(req, resp) : le_pixel_beacon(req, resp);
            break;
        case LE_ROUTE_FORM:
            preflight ? le_pixel_preflight(req, resp) : le_pixel_form(req, resp);
            break;
        case LE_ROUTE_TRACKER:
            le_pixel_tracker(req, resp);
            return;
        case LE_ROUTE_HEALTH:
            memset(resp, 0, sizeof(*resp));
            resp->content_type = LE_STR("text/plain; charset=utf-8");
            resp->headers = LE_STR("Cache-Control: no-store\r\n");
            if (ctx->log && !le_evlog_healthy(ctx->log)) {
                resp->status = 503;
                resp->body = LE_STR("event log failed\n");
            } else {
                resp->status = 200;
                resp->body = LE_STR("ok\n");
            }
            return;
        default:
            return;
    }
    if (resp->reject) le_metrics_inc(ctx->metrics, reject_counter[resp->reject]);
    /* The pixel answers its GIF whatever happens; /e and /f tell the client to retry
     * when the log could not take their events, so nothing is silently lost. */
    if (store(ctx, resp) && route != LE_ROUTE_GIF) {
        le_metrics_inc(ctx->metrics, LE_C_REJ_UNAVAILABLE);
        resp->status = 503;
        resp->content_type = LE_STR("text/plain; charset=utf-8");
        resp->body = LE_STR("event log unavailable, retry later\n");
        resp->headers = LE_STR("Retry-After: 1\r\nCache-Control: no-store\r\n");
    }
}
