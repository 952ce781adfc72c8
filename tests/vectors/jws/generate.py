"""Writes keystone_keys_and_tokens.json: a key pair per `[jwt_tokens] jws_algorithm` made by
Keystone's own jwt_utils.create_jws_keypair, and a token PyJWT signs with it carrying the
claims Keystone's JWSFormatter.create_token writes. Run with the peer venv's python (random
keys: re-running gives different but equally valid files)."""

import json
import os
import tempfile

import jwt
from keystone.common import jwt_utils

CLAIMS = {"sub": "u" * 32, "iat": 1796494573, "exp": 1893553445,
          "openstack_methods": ["application_credential"],
          "openstack_audit_ids": ["A" * 22, "B" * 22],
          "openstack_domain_id": "d" * 32, "openstack_app_cred_id": "c" * 32}

out = {"about": "Key pairs from Keystone 30.0.0's jwt_utils.create_jws_keypair and tokens "
                "PyJWT 2.15.1 signed with them, with the claims Keystone's "
                "JWSFormatter.create_token writes (domain-scoped, application credential, "
                "two audit ids).", "algorithms": {}}
for alg in ["ES256", "ES384", "ES512", "EdDSA"]:
    d = tempfile.mkdtemp()
    private, public = os.path.join(d, "private.pem"), os.path.join(d, "public.pem")
    jwt_utils.create_jws_keypair(private, public, algorithm=alg)
    with open(private) as f:
        private_pem = f.read()
    with open(public) as f:
        public_pem = f.read()
    out["algorithms"][alg] = {"private_pem": private_pem, "public_pem": public_pem,
                              "token": jwt.encode(CLAIMS, private_pem, algorithm=alg)}
out["claims"] = CLAIMS
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "keystone_keys_and_tokens.json"), "w") as f:
    json.dump(out, f, indent=1)
