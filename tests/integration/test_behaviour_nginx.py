"""nginx-only behaviour: the module honours `satisfy`."""

import pytest
import requests

from harness import Client, SourceAddressAdapter

FILE = "/lab-any/file.txt"


@pytest.mark.parametrize("server_instance", ["nginx"], indirect=True)
def test_satisfy_any(server):
    # 127.0.0.2 is allowed by the access module: no login, no second step
    s = requests.Session()
    s.mount("http://", SourceAddressAdapter("127.0.0.2"))
    r = s.get(server.url(FILE), timeout=10, allow_redirects=False)
    assert r.status_code == 200 and r.text == "lab-any file\n"
    # 127.0.0.1 is not: the login is asked for...
    r = requests.get(server.url(FILE), timeout=10, allow_redirects=False)
    assert r.status_code == 401
    # ...and after it the second step, as on any protected location
    alice = Client(server, "alice")
    r = alice.get(FILE)
    assert r.status_code == 303
    assert "/twostep/enroll" in r.headers["Location"]
    codes, _ = alice.enroll()
    r = alice.get(FILE)
    assert r.status_code == 200
    assert r.headers["X-TwoStep-Status"] == "verified"
    # the password is still checked after the module: a valid twostep
    # cookie with a wrong password gets nothing
    thief = requests.Session()
    thief.cookies.update(alice.s.cookies)
    r = thief.get(server.url(FILE), auth=("alice", "wrong"), timeout=10,
                  allow_redirects=False)
    assert r.status_code in (401, 403)
