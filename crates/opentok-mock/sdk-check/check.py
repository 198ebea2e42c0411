"""Drives the official OpenTok Python SDK against a running opentok-mock.

Usage: check.py URL API_KEY API_SECRET

Each check prints PASS or FAIL with a reason; the last line is
"python-sdk-check: N passed, M failed" and the exit status is 1 if anything failed.
"""

import base64
import sys
import traceback
import warnings

from opentok import ArchiveModes, MediaModes, OpenTok
from opentok.exceptions import OpenTokException, RequestError

# OpenTok(key, secret, api_url=...) is the entry point the brief names; 3.15 marks it deprecated in
# favour of Client, which takes the same arguments.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=__name__)

# Fail rather than wait forever if the mock stops answering.
TIMEOUT_SECS = 10


def decode_session_id(session_id):
    """The ~-separated record of a session id (protocol section 4)."""
    body = session_id[2:]
    body += "=" * (-len(body) % 4)
    return base64.b64decode(body, altchars=b"-_").decode("utf-8").split("~")


def expect_id_for(session, api_key, location=""):
    fields = decode_session_id(session.session_id)
    assert fields[1] == api_key, "id names key %r, expected %r" % (fields[1], api_key)
    assert fields[2] == location, "id names location %r, expected %r" % (fields[2], location)
    assert fields[3].isdigit(), "create time %r is not epoch ms" % fields[3]


def check_routed(url, key, secret):
    ot = OpenTok(key, secret, api_url=url, timeout=TIMEOUT_SECS)
    session = ot.create_session(media_mode=MediaModes.routed)
    expect_id_for(session, key)
    # The SDK's own ownership check must accept the id before it signs a token for it.
    token = ot.generate_token(session.session_id)
    assert token, "no token for the new session"


def check_relayed_with_location(url, key, secret):
    ot = OpenTok(key, secret, api_url=url, timeout=TIMEOUT_SECS)
    session = ot.create_session(location="12.34.56.78")
    assert session.media_mode == MediaModes.relayed
    expect_id_for(session, key, location="12.34.56.78")
    token = ot.generate_token(session.session_id, use_jwt=False)
    assert token.startswith("T1=="), "unexpected legacy token %r" % token[:8]


def check_routed_always_archived_and_e2ee(url, key, secret):
    ot = OpenTok(key, secret, api_url=url, timeout=TIMEOUT_SECS)
    archived = ot.create_session(
        media_mode=MediaModes.routed,
        archive_mode=ArchiveModes.always,
        archive_name="my archive",
        archive_resolution="1280x720",
    )
    expect_id_for(archived, key)
    encrypted = ot.create_session(media_mode=MediaModes.routed, e2ee=True)
    expect_id_for(encrypted, key)
    assert archived.session_id != encrypted.session_id, "two sessions got one id"


def check_wrong_secret_is_refused(url, key, secret):
    ot = OpenTok(key, secret[::-1] + "x", api_url=url, timeout=TIMEOUT_SECS)
    try:
        ot.create_session(media_mode=MediaModes.routed)
    except RequestError as e:
        # The SDK raises AuthError on 403 and wraps it: "... invalid credentials".
        assert "invalid credentials" in str(e), "unexpected error text %r" % str(e)
        return
    except OpenTokException as e:
        raise AssertionError("wrong kind of error: %s: %s" % (type(e).__name__, e))
    raise AssertionError("a wrong secret created a session")


CHECKS = [
    check_routed,
    check_relayed_with_location,
    check_routed_always_archived_and_e2ee,
    check_wrong_secret_is_refused,
]


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    url, key, secret = argv[1:]
    passed = failed = 0
    for check in CHECKS:
        name = check.__name__[len("check_"):]
        try:
            check(url, key, secret)
        except Exception as e:  # any failure, including SDK errors, fails this check only
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
            traceback.print_exc(file=sys.stderr)
        else:
            passed += 1
            print("PASS %s" % name)
    print("python-sdk-check: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
