"""Real servers on loopback for integration tests (DESIGN §6: never hand-mock what can run).

- :mod:`servers.knot` — Knot DNS (Debian ``knot``) serving every ``tests/fixtures/*/zones/*.zone``;
  fixture ``knot_dns`` (session).
- :mod:`servers.blackhole` — a UDP port that swallows queries, for timeouts; fixture ``dns_blackhole``.
- :mod:`servers.rdap` — a threaded HTTP server replaying recorded RDAP JSON and failure modes
  (429, 500, slow, malformed); fixtures ``rdap_server`` (session) and ``rdap`` (per test, reset).

Use from a test module (``tests/`` is on ``sys.path`` under pytest's default import mode)::

    from servers.knot import knot_dns  # noqa: F401  (pytest finds fixtures by name)

or for the whole suite, in ``tests/conftest.py``::

    pytest_plugins = ["servers.knot", "servers.blackhole", "servers.rdap"]

Everything binds 127.0.0.1 on a free port; every wait is bounded in count and time.
"""
