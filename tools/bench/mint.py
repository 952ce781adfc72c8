"""Many distinct project-scoped Fernet tokens for the bulk users, as the server itself issues them.

A cloud's services validate thousands of distinct tokens, most of them a few times; issuing
20,000 through the API takes minutes on the peer (each one a token request), so they are
sealed here with the server's own key repository instead — exactly as a node of the fleet
would: the payload of a token the server issued (its format version, its methods bitmask,
its expiry) with another user, project and audit id, packed and encrypted as Keystone's
TokenFormatter does (MessagePack, Fernet with the primary key, padding stripped). A server
cannot tell them from its own; every one validates once its user holds a role on the project.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import msgpack
from cryptography.fernet import Fernet, MultiFernet

PROJECT_SCOPED = 2  # Keystone's ProjectScopedPayload version


def _keys(repository: Path) -> list[Fernet]:
    """The repository's keys, primary (the highest number) first, as Keystone orders them."""
    numbered = sorted((int(p.name), p) for p in repository.iterdir() if p.name.isdigit())
    return [Fernet(p.read_bytes().strip()) for _, p in reversed(numbered)]


def _id(value: str):
    # Keystone packs a UUID-hex id as (True, its 16 bytes), anything else as (False, the text).
    try:
        u = uuid.UUID(hex=value)
        if u.hex == value:
            return [True, u.bytes]
    except ValueError:
        pass
    return [False, value]


class Minter:
    def __init__(self, repository: Path, template_token: str):
        keys = _keys(repository)
        self.primary, self.all = keys[0], MultiFernet(keys)
        padded = template_token + "=" * (-len(template_token) % 4)
        payload = msgpack.unpackb(self.all.decrypt(padded.encode()))
        if payload[0] != PROJECT_SCOPED:
            raise ValueError(f"the template is a version {payload[0]} token, not project-scoped")
        self.template = payload

    def token(self, user_id: str, project_id: str) -> str:
        payload = list(self.template)
        payload[1], payload[3] = _id(user_id), _id(project_id)
        payload[5] = [os.urandom(16)]  # a fresh audit id: a distinct token
        return self.primary.encrypt(msgpack.packb(payload)).rstrip(b"=").decode()


def mint(repository: Path, template_token: str, pairs: list[tuple[str, str]],
         count: int) -> list[str]:
    """`count` tokens, cycling through the (user id, project id) pairs."""
    minter = Minter(repository, template_token)
    return [minter.token(*pairs[i % len(pairs)]) for i in range(count)]
