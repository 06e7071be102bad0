#!/usr/bin/python3
"""ua_ref.py: the baseline for bench/ua_bench.c, uap-core's reference Python parser.

Times ua_parser.user_agent_parser.Parse (Debian package python3-ua-parser) on every
user_agent_string of a uap-core test file, with the module's parse cache disabled so that
every call is a miss, and prints one line:

    uap-python miss_us=<microseconds per User-Agent> n=<strings> rounds=<rounds>

Usage: ua_ref.py [test_ua.yaml] [rounds]. Exit 3 when ua_parser or yaml cannot be imported.
"""
import sys
import time

try:
    import yaml
    from ua_parser import user_agent_parser
except ImportError as e:  # pragma: no cover
    print("uap-python unavailable: %s" % e, file=sys.stderr)
    sys.exit(3)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/uap-core/tests/test_ua.yaml"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with open(path) as f:
        cases = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["test_cases"]
    uas = [c["user_agent_string"] for c in cases]
    # No caching: the cache is emptied whenever it holds MAX_CACHE_SIZE entries.
    user_agent_parser.MAX_CACHE_SIZE = 0
    best = None
    for _ in range(rounds):
        user_agent_parser._PARSE_CACHE.clear()
        t0 = time.perf_counter()
        for ua in uas:
            user_agent_parser.Parse(ua)
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    print("uap-python miss_us=%.3f n=%d rounds=%d" % (best * 1e6 / len(uas), len(uas), rounds))


if __name__ == "__main__":
    main()
