"""Login limits (issue 9, item 6): per user name and address, per address, global, atomic;
no lockout of the real user from another address; equal cost; bounded hashing; ProxyFix."""

from __future__ import annotations

import threading
from datetime import timedelta

from conftest import csrf_token, make_app

from mapsvc.core import login_limits, users
from mapsvc.core.models import utcnow
from mapsvc.core.users import add_user

GOOD = "a-long-password"


def _app(services, **cfg):
    with services.store.session() as session:
        for name in ("alice", "bob"):
            add_user(session, name, GOOD, "professional")
    return make_app(services, **cfg)


def _client(app, addr: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = addr
    return client


def _login(client, name: str, password: str, headers=None) -> int:
    token = csrf_token(client)
    r = client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token},
        headers=headers or {},
    )
    return r.status_code


def test_failures_from_one_address_never_lock_the_user_out_elsewhere(sqlite_services):
    app = _app(sqlite_services, LOGIN_USER_DELAY_MAX_SECONDS=0)
    attacker = _client(app, "203.0.113.9")
    assert [_login(attacker, "alice", "guess-guess-1") for _ in range(8)] == [401] * 5 + [429] * 3
    assert _login(_client(app, "198.51.100.7"), "alice", GOOD) == 302


def test_a_growing_delay_per_user_name_not_a_lockout(sqlite_services, monkeypatch):
    app = _app(sqlite_services)
    for i in range(8):  # from eight addresses, one guess each
        _login(_client(app, f"203.0.113.{i}"), "alice", "guess-guess-1")
    r_status = _login(_client(app, "198.51.100.7"), "alice", GOOD)
    assert r_status == 429
    later = utcnow() + timedelta(seconds=61)
    monkeypatch.setattr(login_limits, "utcnow", lambda: later)
    assert _login(_client(app, "198.51.100.7"), "alice", GOOD) == 302


def test_per_address_and_global_caps(sqlite_services):
    app = _app(sqlite_services, LOGIN_ADDRESS_ATTEMPTS=10, LOGIN_GLOBAL_ATTEMPTS=14)
    one = _client(app, "203.0.113.50")
    codes = [_login(one, f"user{i}", "guess-guess-1") for i in range(12)]
    assert codes == [401] * 10 + [429] * 2  # 12 user names from one address
    others = [_login(_client(app, f"192.0.2.{i}"), f"x{i}", "guess-guess-1") for i in range(4)]
    assert others[:2] == [401, 401] and others[2:] == [429, 429]  # 14 in all


def test_concurrent_attempts_are_counted_atomically(sqlite_services):
    app = _app(sqlite_services)
    codes: list[int] = []
    clients = [_client(app, "203.0.113.77") for _ in range(16)]
    tokens = [csrf_token(c) for c in clients]
    barrier = threading.Barrier(16)

    def attempt(i: int) -> None:
        barrier.wait()
        r = clients[i].post(
            "/login",
            data={"username": "bob", "password": f"guess-{i:08d}", "csrf_token": tokens[i]},
        )
        codes.append(r.status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(codes) == 16 and set(codes) <= {401, 429}
    assert codes.count(401) <= 5  # evaluated (password checked) at most LOGIN_ATTEMPTS


def test_unknown_and_known_user_names_cost_the_same(sqlite_services, monkeypatch):
    app = _app(sqlite_services)
    calls: list[str] = []
    check, make = users.check_password, users.hash_password
    monkeypatch.setattr(users, "check_password", lambda h, p: calls.append("check") or check(h, p))
    monkeypatch.setattr(users, "hash_password", lambda p: calls.append("hash") or make(p))
    _login(_client(app, "192.0.2.1"), "alice", "wrong-password")
    known, calls[:] = list(calls), []
    _login(_client(app, "192.0.2.2"), "nobody-here", "wrong-password")
    assert known == calls == ["check"]


def test_beyond_n_concurrent_hashes_a_fast_429(sqlite_services):
    app = _app(sqlite_services, LOGIN_MAX_CONCURRENT_HASHES=1)
    slots = app.extensions["mapsvc_hash_slots"]
    assert slots.acquire(blocking=False)  # another login is hashing
    try:
        assert _login(_client(app, "192.0.2.3"), "alice", GOOD) == 429
    finally:
        slots.release()
    assert _login(_client(app, "192.0.2.3"), "alice", GOOD) == 302


def test_proxyfix_trusts_only_the_configured_proxies(sqlite_services):
    behind = _app(sqlite_services, TRUSTED_PROXIES=1, LOGIN_ADDRESS_ATTEMPTS=3)
    proxy = _client(behind, "10.0.0.1")
    # many users behind one proxy: each real address has its own budget
    for i in range(5):
        hdr = {"X-Forwarded-For": f"198.51.100.{i}"}
        assert _login(proxy, f"u{i}", "guess-guess-1", hdr) == 401
    direct = make_app(sqlite_services, TRUSTED_PROXIES=0, LOGIN_ADDRESS_ATTEMPTS=3)
    c = _client(direct, "10.0.0.2")
    forged = [_login(c, f"v{i}", "guess", {"X-Forwarded-For": f"1.2.3.{i}"}) for i in range(5)]
    assert forged[3:] == [429, 429]  # a forged header is not believed without a proxy
