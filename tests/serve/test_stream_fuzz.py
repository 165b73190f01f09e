"""Property-based: the WebSocket message parser given random input never raises.

``StreamSession.feed`` answers a bad message with an error message (never an exception),
and ``step`` turns an undecodable frame into one too.
"""

from __future__ import annotations

import base64
import json
import struct

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

pytest.importorskip("fastapi")

from emofuse.inference.recognizer import Recognizer
from emofuse.serve.stream import StreamSession, StreamSettings

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
JPEG = b"\xff\xd8\xff"

TIME = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**400), 10**400),
    st.integers(2**63, 10**400),  # JSON ints too large for a float
    st.text(max_size=5),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
PAYLOAD = st.one_of(
    st.binary(max_size=64),
    st.binary(max_size=64).map(lambda b: JPEG + b),  # looks like a JPEG, is not
    st.binary(max_size=64).map(lambda b: b + b),  # even length: valid PCM16
)
BINARY = st.one_of(
    st.binary(max_size=40),
    st.builds(
        lambda k, t, p: k + struct.pack("<d", t) + p,
        st.sampled_from([b"F", b"A", b"X", b"\0"]),
        st.floats(allow_nan=True, allow_infinity=True),
        PAYLOAD,
    ),
)
ENVELOPE = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["frame", "audio", "ping", "x"]), st.integers())},
    optional={
        "t": TIME,
        "data": st.one_of(
            PAYLOAD.map(lambda b: base64.b64encode(b).decode()), st.text(max_size=12), st.integers()
        ),
    },
)
TEXT = st.one_of(
    st.text(max_size=60),
    ENVELOPE.map(lambda d: json.dumps(d, allow_nan=True)),
    st.recursive(st.none() | st.integers() | st.text(max_size=4), st.lists, max_leaves=4).map(
        json.dumps
    ),
)


@pytest.fixture(scope="module")
def rec(tiny_models):
    return Recognizer(tiny_models)


@FUZZ
@example(messages=['{"type": "audio", "t": ' + str(10**400) + ', "data": ""}'])  # found by this
@given(messages=st.lists(st.one_of(BINARY, TEXT), min_size=1, max_size=6))
def test_random_messages_never_raise(rec, messages):
    session = StreamSession(rec, StreamSettings(max_message_bytes=200))
    for message in messages:
        for reply in session.feed(message):
            assert reply["type"] in ("error", "pong")
            assert isinstance(reply.get("message", ""), str)
            assert len(reply.get("message", "")) < 400
            json.dumps(reply, allow_nan=False)
        for _ in range(3):  # bounded: at most a frame and a voice window are pending
            if not session.pending():
                break
            update = session.step()
            assert update is None or update["type"] in ("update", "error")
            json.dumps(update, allow_nan=False)  # what goes back over the socket
