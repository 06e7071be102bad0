/*
 * test_bot.c: the bot verdict (enrich/bot.c).
 *
 * Real User-Agents of crawlers, tools, monitors and link-preview fetchers must be flagged;
 * real browsers (including the look-alikes: Cubot phones, YaBrowser, "Botswana" carriers,
 * in-app and Electron browsers) must not. Then each other reason on its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "bot.h"

static const char *const bots[] = {
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/120.0.6099.129 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)",
    "Googlebot-Image/1.0",
    "AdsBot-Google (+http://www.google.com/adsbot.html)",
    "Mediapartners-Google",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.5.0",
    "Wget/1.21.4",
    "python-requests/2.31.0",
    "Python-urllib/3.11",
    "Python/3.11 aiohttp/3.9.1",
    "python-httpx/0.26.0",
    "Go-http-client/1.1",
    "Go-http-client/2.0",
    "Java/17.0.9",
    "Apache-HttpClient/4.5.14 (Java/17.0.9)",
    "okhttp/4.12.0",
    "libwww-perl/6.72",
    "Scrapy/2.11.0 (+https://scrapy.org)",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "axios/1.6.2",
    "PostmanRuntime/7.36.0",
    "HTTPie/3.2.2",
    "GuzzleHttp/7",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.6099.109 Safari/537.36",
    "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 "
    "Safari/538.1",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; YandexImages/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)",
    "Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
    "Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
    "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
    "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.0; "
    "+https://openai.com/gptbot",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; "
    "+https://openai.com/bot",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; "
    "+claudebot@anthropic.com)",
    "Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
    "Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
    "Mozilla/5.0 (compatible; Amazonbot/0.1; +https://developer.amazon.com/support/amazonbot)",
    "CCBot/2.0 (https://commoncrawl.org/faq/)",
    "ia_archiver (+http://www.alexa.com/site/help/webmasters; crawler@alexa.com)",
    "Mozilla/5.0 (compatible; archive.org_bot +http://archive.org/details/archive.org_bot)",
    "Mozilla/5.0 (compatible; SeznamBot/4.0; +https://o-seznam.cz/napoveda/vyhledavani/en/)",
    "Mozilla/5.0 (compatible; Screaming Frog SEO Spider/19.4)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Slackbot 1.0 (+https://api.slack.com/robots)",
    "Twitterbot/1.0",
    "WhatsApp/2.23.20.0 A",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
    "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; StatusCake) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Site24x7",
    "Datadog/Synthetics",
    "Mozilla/5.0 (compatible; NewRelicPinger/1.0; 1234567)",
    "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Safari/537.36 GTmetrix",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 PTST/231207.151907",
    "WordPress/6.4.2; https://example.com",
    "Mozilla/5.0 (compatible; SomeNewCrawler/0.1)",
};

static const char *const browsers[] = {
    /* Chrome, Edge, Firefox, Safari on desktops */
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36", /* Brave sends Chrome's */
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Vivaldi/6.5.3206.48",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/118.0.0.0 YaBrowser/23.11.0.0 Safari/537.36",
    /* mobiles and tablets */
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36",
    "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
    "Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36 EdgA/120.0.2210.115",
    "Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16",
    "Mozilla/5.0 (Linux; Android 10; ELS-NX9; HMSCore 6.12.0.302) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.2.311 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; U; Android 10; en-US; RMX2020 Build/QP1A.190711.020) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 UCBrowser/13.4.0.1306 Mobile "
    "Safari/537.36",
    "Mozilla/5.0 (Linux; U; Android 12; en-us; Redmi Note 11 Build/SKQ1.211103.001) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/112.0.5615.136 Mobile "
    "Safari/537.36 XiaoMi/MiuiBrowser/14.5.1-gn",
    /* look-alikes: Cubot phones, "Robot" model names, a Botswana carrier */
    "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 9; CUBOT P30 Build/PPR1.180610.011) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 11; Cubot KingKong 5 Pro) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/118.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 11; ROBOT R1 Build/RP1A.200720.011) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/118.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; SM-A125F Build/SP1A.210812.016; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36 "
    "[FB_IAB/FB4A;FBAV/444.0.0.0.110;FBCR/OrangeBotswana;]",
    /* J2ME feature phones name their Java runtime, not a Java HTTP client */
    "SonyEricssonW666i/R2BA Java/SEMC-Java/2.0 Profile/MIDP-2.0 Configuration/CLDC-1.1 "
    "UNTRUSTED/1.0",
    "Huawei/1.0/0HuaweiU2800/B000 Browser/Obigo-Browser/Q05A HUAWEI-U2800 HuaweiJava/1.0 "
    "Profile/MIDP-2.0 Configuration/CLDC-1.1",
    /* in-app browsers and Electron apps are people */
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 Instagram 311.0.2.21.105 (iPhone15,3; iOS 17_1_2; en_US; en; "
    "scale=3.00; 1290x2796; 545986857)",
    "Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36 "
    "[Pinterest/Android]",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Slack/4.35.131 Chrome/118.0.5993.159 Electron/27.0.2 Safari/537.36 Sonic "
    "Slack_SSB/4.35.131",
};

static void test_bot_uas(void **st) {
    for (size_t i = 0; i < LE_ARRAY_SIZE(bots); i++) {
        if (!le_bot_ua_token(le_str(bots[i]))) fail_msg("not flagged: %s", bots[i]);
        le_bot_input_t in = {
            .ua = le_str(bots[i]), .has_accept_language = true, .form_fill_ms = -1};
        assert_int_equal(le_bot_check(&in), LE_BOT_UA_TOKEN);
    }
}

static void test_browser_uas(void **st) {
    for (size_t i = 0; i < LE_ARRAY_SIZE(browsers); i++) {
        if (le_bot_ua_token(le_str(browsers[i]))) fail_msg("flagged: %s", browsers[i]);
        le_bot_input_t in = {.ua = le_str(browsers[i]),
                             .ua_browser = true,
                             .has_accept_language = true,
                             .network = LE_NET_BUSINESS,
                             .form_fill_ms = 8000,
                             .min_form_ms = 1500};
        assert_int_equal(le_bot_check(&in), 0);
    }
}

static void test_token_edges(void **st) {
    /* "bot" ends a word; "bots" too; not followed by letters. */
    assert_true(le_bot_ua_token(le_str("bot")));
    assert_true(le_bot_ua_token(le_str("MyBOT")));
    assert_true(le_bot_ua_token(le_str("see /bots.")));
    assert_false(le_bot_ua_token(le_str("bottle/1.0")));
    assert_false(le_bot_ua_token(le_str("Botswana")));
    assert_false(le_bot_ua_token(le_str("bo")));
    assert_false(le_bot_ua_token(le_str("cubot")));
    assert_false(le_bot_ua_token(le_str("ROBOT")));
    /* A token cut by the end of the string does not match. */
    assert_false(le_bot_ua_token(le_str("Mozilla/5.0 spide")));
    assert_false(le_bot_ua_token(le_str("curl")));
    assert_true(le_bot_ua_token(le_str("CURL/7")));
    assert_false(le_bot_ua_token(LE_STR_NULL));
    /* any URL; Java only as a runtime version at a word start */
    assert_true(le_bot_ua_token(le_str("Netvibes (http://www.netvibes.com)")));
    assert_true(le_bot_ua_token(le_str("Feedly/1.0 (HTTPS://feedly.com/poller.html)")));
    assert_true(le_bot_ua_token(le_str("SomeClient/2.1 (Java/1.8.0_292)")));
    assert_true(le_bot_ua_token(le_str("java/11")));
    assert_false(le_bot_ua_token(le_str("Java/")));
    assert_false(le_bot_ua_token(le_str("Java/HWJa/1.0")));
    assert_false(le_bot_ua_token(le_str("HuaweiJava/1.0")));
    /* Bytes above 127 and NUL are just bytes. */
    const char weird[] = "Mozilla\xff\x80\0/5.0 \xc3\xa9 crawler";
    assert_true(le_bot_ua_token((le_str_t){weird, sizeof(weird) - 1}));
    assert_false(le_bot_ua_token((le_str_t){weird, 20}));
    /* 10 KB without a token, then with one at the very end. */
    char *big = malloc(10 * 1024 + 8);
    memset(big, 'b', 10 * 1024);
    assert_false(le_bot_ua_token((le_str_t){big, 10 * 1024}));
    memcpy(big + 10 * 1024, " wget", 5);
    assert_true(le_bot_ua_token((le_str_t){big, 10 * 1024 + 5}));
    free(big);
}

/*
 * uap-core's own test suite (Debian package uap-core): no User-Agent of a mainstream browser
 * family may carry a token. Skipped when the package is not installed.
 */
#define UAP_TEST_UA "/usr/share/uap-core/tests/test_ua.yaml"

static const char *const browser_families[] = {
    "Amazon Silk",
    "Android",
    "Baidu Browser",
    "BlackBerry WebKit",
    "Brave",
    "Chrome",
    "Chrome Mobile",
    "Chrome Mobile WebView",
    "Chrome Mobile iOS",
    "Chromium",
    "Coc Coc",
    "Dolphin",
    "Edge",
    "Edge Mobile",
    "Electron",
    "Facebook",
    "Facebook Messenger",
    "Firefox",
    "Firefox Mobile",
    "Firefox iOS",
    "IE",
    "IE Mobile",
    "Instagram",
    "Iron",
    "Kindle",
    "LINE",
    "Mail.ru Chromium Browser",
    "Maxthon",
    "MiuiBrowser",
    "Mobile Safari",
    "Mobile Safari UI/WKWebView",
    "NetFront",
    "Nokia Browser",
    "Opera",
    "Opera Coast",
    "Opera Mini",
    "Opera Mobile",
    "Opera Neon",
    "Opera Tablet",
    "Pale Moon",
    "Puffin",
    "QQ Browser",
    "Safari",
    "Samsung Internet",
    "Seznam prohlížeč",
    "Sleipnir",
    "Snapchat",
    "Twitter",
    "UC Browser",
    "Vivaldi",
    "Waterfox",
    "Whale",
    "Yandex Browser",
    "qutebrowser",
};

/* Google Web Preview is a bot that uap-core files under the Chrome family. */
static const char *const previewers[] = {"Google Web Preview"};

/* The value of a "key: 'value'" or "key: \"value\"" line, unquoted, into out. */
static bool yaml_value(const char *line, const char *key, char *out, size_t cap) {
    const char *p = strstr(line, key);
    if (!p || p[strlen(key)] != ':') return false;
    p += strlen(key) + 1;
    while (*p == ' ') p++;
    char q = *p;
    if (q != '\'' && q != '"') return false;
    size_t n = 0;
    for (p++; *p && n + 1 < cap; p++) {
        if (*p == q) {
            if (q == '\'' && p[1] == '\'') {
                p++;
            } else {
                break;
            }
        }
        out[n++] = *p;
    }
    out[n] = '\0';
    return true;
}

static void test_uap_core_browsers(void **st) {
    FILE *f = fopen(UAP_TEST_UA, "r");
    if (!f) skip();
    static char line[16384], ua[16384], family[256];
    size_t checked = 0;
    bool have_ua = false;
    while (fgets(line, sizeof(line), f)) {
        if (yaml_value(line, "user_agent_string", ua, sizeof(ua))) {
            have_ua = true;
            continue;
        }
        if (!have_ua || !yaml_value(line, "family", family, sizeof(family))) continue;
        have_ua = false;
        bool browser = false, previewer = false;
        for (size_t i = 0; i < LE_ARRAY_SIZE(browser_families); i++)
            if (strcmp(family, browser_families[i]) == 0) browser = true;
        for (size_t i = 0; i < LE_ARRAY_SIZE(previewers); i++)
            if (strstr(ua, previewers[i])) previewer = true;
        if (!browser || previewer) continue;
        if (le_bot_ua_token(le_str(ua))) fail_msg("%s flagged: %s", family, ua);
        checked++;
    }
    fclose(f);
    assert_true(checked > 200); /* the suite was read (234 cases in uap-core 0.16) */
}

static le_bot_input_t browser(void) {
    return (le_bot_input_t){
        .ua = le_str(browsers[0]),
        .ua_browser = true,
        .has_accept_language = true,
        .network = LE_NET_ISP,
        .form_fill_ms = -1,
        .min_form_ms = 1500,
    };
}

static void test_reasons(void **st) {
    le_bot_input_t in = browser();
    assert_int_equal(le_bot_check(&in), 0);

    in = browser();
    in.ua_spider = true;
    assert_int_equal(le_bot_check(&in), LE_BOT_UA_SPIDER);

    /* empty, blank and "-" */
    const char *empty[] = {"", " ", "\t \t", "-", " - "};
    for (size_t i = 0; i < LE_ARRAY_SIZE(empty); i++) {
        in = browser();
        in.ua = le_str(empty[i]);
        in.ua_browser = false;
        assert_int_equal(le_bot_check(&in), LE_BOT_EMPTY_UA);
    }
    in = browser();
    in.ua = LE_STR_NULL;
    in.ua_browser = false;
    assert_int_equal(le_bot_check(&in), LE_BOT_EMPTY_UA);
    in.ua = le_str("--");
    assert_int_equal(le_bot_check(&in), 0);

    /* networks */
    static const struct {
        le_network_t net;
        uint32_t want;
    } nets[] = {
        {LE_NET_UNKNOWN, 0},
        {LE_NET_BUSINESS, 0},
        {LE_NET_GOVERNMENT, 0},
        {LE_NET_EDUCATION, 0},
        {LE_NET_ISP, 0},
        {LE_NET_CELLULAR, 0},
        {LE_NET_HOSTING, LE_BOT_NETWORK},
        {LE_NET_ANONYMISER, LE_BOT_NETWORK},
    };
    for (size_t i = 0; i < LE_ARRAY_SIZE(nets); i++) {
        in = browser();
        in.network = nets[i].net;
        assert_int_equal(le_bot_check(&in), nets[i].want);
    }

    /* a browser without Accept-Language; a non-browser without it is not flagged for that */
    in = browser();
    in.has_accept_language = false;
    assert_int_equal(le_bot_check(&in), LE_BOT_NO_LANGUAGE);
    in.ua_browser = false;
    assert_int_equal(le_bot_check(&in), 0);

    in = browser();
    in.honeypot = true;
    assert_int_equal(le_bot_check(&in), LE_BOT_HONEYPOT);

    /* form timing: [0, min) is too fast; unknown and a disabled check never are */
    static const struct {
        int64_t fill;
        uint32_t min, want;
    } forms[] = {
        {0, 1500, LE_BOT_FAST_FORM},
        {1499, 1500, LE_BOT_FAST_FORM},
        {1500, 1500, 0},
        {60000, 1500, 0},
        {-1, 1500, 0},
        {-5, 1500, 0},
        {0, 0, 0},
        {INT64_MAX, UINT32_MAX, 0},
    };
    for (size_t i = 0; i < LE_ARRAY_SIZE(forms); i++) {
        in = browser();
        in.form_fill_ms = forms[i].fill;
        in.min_form_ms = forms[i].min;
        assert_int_equal(le_bot_check(&in), forms[i].want);
    }

    /* everything at once */
    in = (le_bot_input_t){.ua = le_str("curl/8.5.0"),
                          .ua_spider = true,
                          .ua_browser = true,
                          .network = LE_NET_HOSTING,
                          .honeypot = true,
                          .form_fill_ms = 10,
                          .min_form_ms = 1500};
    assert_int_equal(le_bot_check(&in), LE_BOT_UA_SPIDER | LE_BOT_UA_TOKEN | LE_BOT_NETWORK |
                                            LE_BOT_NO_LANGUAGE | LE_BOT_HONEYPOT |
                                            LE_BOT_FAST_FORM);

    /* the cached token verdict is used as given */
    in = browser();
    assert_int_equal(le_bot_check_token(&in, true), LE_BOT_UA_TOKEN);
    in.ua = le_str("curl/8.5.0");
    assert_int_equal(le_bot_check_token(&in, false), 0);
}

static void test_reason_names(void **st) {
    char buf[LE_BOT_REASONS_MAX];
    assert_string_equal(le_bot_reason_name(LE_BOT_UA_SPIDER), "ua_spider");
    assert_string_equal(le_bot_reason_name(LE_BOT_FAST_FORM), "fast_form");
    assert_null(le_bot_reason_name(LE_BOT_UA_SPIDER | LE_BOT_UA_TOKEN));
    assert_null(le_bot_reason_name(0));

    assert_int_equal(le_bot_reasons_format(0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(le_bot_reasons_format(LE_BOT_NETWORK | LE_BOT_UA_TOKEN, buf, sizeof(buf)), 16);
    assert_string_equal(buf, "ua_token,network");
    /* unknown bits are skipped */
    le_bot_reasons_format(LE_BOT_HONEYPOT | 0x80000000u, buf, sizeof(buf));
    assert_string_equal(buf, "honeypot");
    /* all of them fit the documented bound */
    size_t all = le_bot_reasons_format(0xffffffffu, buf, sizeof(buf));
    assert_true(all < sizeof(buf));
    assert_string_equal(buf, "ua_spider,ua_token,empty_ua,network,no_language,honeypot,fast_form");
    /* cut like snprintf */
    assert_int_equal(le_bot_reasons_format(LE_BOT_NETWORK | LE_BOT_UA_TOKEN, buf, 6), 16);
    assert_string_equal(buf, "ua_to");
    assert_int_equal(le_bot_reasons_format(LE_BOT_NETWORK | LE_BOT_UA_TOKEN, buf, 10), 16);
    assert_string_equal(buf, "ua_token,");
    assert_int_equal(le_bot_reasons_format(LE_BOT_NETWORK, NULL, 0), 7);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bot_uas),      cmocka_unit_test(test_browser_uas),
        cmocka_unit_test(test_token_edges),  cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_reason_names), cmocka_unit_test(test_uap_core_browsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
