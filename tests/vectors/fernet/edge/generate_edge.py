#!/opt/peer/venv/bin/python
"""Edge-case Fernet vectors from the installed Python Keystone (30.0.0).

Run: /opt/peer/venv/bin/python generate_edge.py  (writes edge_cases.json next to it)
Complements shared/spec/vectors/fernet (one vector per payload version) with the
inputs a port most easily gets wrong: non-canonical UUID spellings, non-ASCII and long
ids (str8/str16), many groups (array16), unknown methods, sub-second expiry, a v10
token with a domain, a trust without a project. Tokens use a random IV and the real
clock, so only the plaintext is compared byte-for-byte; the token is decrypted.
"""
import base64
import json
import os
import tempfile

import keystone.conf
from keystone.token import token_formatters as tf
import msgpack

CONF = keystone.conf.CONF
keystone.conf.configure()
CONF([], project='keystone', default_config_files=[])

KEYS = {
    '0': base64.urlsafe_b64encode(bytes(range(0x00, 0x20))).decode(),
    '1': base64.urlsafe_b64encode(bytes(range(0x20, 0x40))).decode(),
    '2': base64.urlsafe_b64encode(bytes(range(0x40, 0x60))).decode(),
}
repo = tempfile.mkdtemp(prefix='fernet-edge-')
os.chmod(repo, 0o700)
for name, key in KEYS.items():
    with open(os.path.join(repo, name), 'w') as f:
        f.write(key)
METHODS = ['external', 'password', 'token', 'oauth1', 'mapped',
           'application_credential']
CONF.set_override('key_repository', repo, group='fernet_tokens')
CONF.set_override('methods', METHODS, group='auth')
CONF.set_override('default_domain_id', 'default', group='identity')

U = '0123456789abcdef0123456789abcdef'
P = 'fedcba9876543210fedcba9876543210'
EXP = '2026-01-01T01:00:00.000000Z'
AUD = ['AAECAwQFBgcICQoLDA0ODw']
fmt = tf.TokenFormatter()
cases = []


def case(name, cls, **kw):
    args = dict(user_id=U, expires_at=EXP, audit_ids=AUD, methods=['password'])
    args.update(kw)
    payload = cls.assemble(
        args['user_id'], args['methods'], args.get('system'),
        args.get('project_id'), args.get('domain_id'), args['expires_at'],
        args['audit_ids'], args.get('trust_id'),
        args.get('federated_group_ids'), args.get('identity_provider_id'),
        args.get('protocol_id'), args.get('access_token_id'),
        args.get('app_cred_id'), args.get('thumbprint'))
    token = fmt.create_token(payload_class=cls, **args)
    names = ['user_id', 'methods', 'audit_ids', 'system', 'domain_id',
             'project_id', 'trust_id', 'federated_group_ids',
             'identity_provider_id', 'protocol_id', 'access_token_id',
             'app_cred_id', 'thumbprint', 'issued_at', 'expires_at']
    cases.append({
        'name': name,
        'payload_version': cls.version,
        'inputs': args,
        'msgpack_payload_hex': msgpack.packb((cls.version,) + payload).hex(),
        'token': token,
        'decoded': dict(zip(names, fmt.validate_token(token))),
    })


case('dashed_uppercase_uuid_user', tf.ProjectScopedPayload,
     user_id='01234567-89AB-CDEF-0123-456789ABCDEF', project_id=P)
case('python_int_oddity_user', tf.UnscopedPayload,
     user_id='0x23456789abcdef0123456789abcdef')
case('braced_urn_project', tf.ProjectScopedPayload,
     project_id='{urn:uuid:fedcba98-7654-3210-fedc-ba9876543210}')
case('unicode_user', tf.UnscopedPayload, user_id='ümlaut-üser@例え.jp')
case('long_user_str16', tf.UnscopedPayload, user_id='x' * 300)
case('many_groups_array16', tf.FederatedDomainScopedPayload,
     user_id='f' * 64, domain_id='00112233445566778899aabbccddeeff',
     methods=['mapped'],
     federated_group_ids=[{'id': '%032x' % i} for i in range(17)] + [{'id': 'ldap-group'}],
     identity_provider_id='a1a2a3a4a5a6a7a8a9aaabacadaeafb0', protocol_id='oidc')
case('all_methods_and_unknown', tf.UnscopedPayload,
     methods=METHODS + ['totp', 'oauth2_credential'])
case('subsecond_expiry', tf.UnscopedPayload,
     expires_at='2026-01-01T01:00:00.500000Z')
case('year_9999_expiry', tf.UnscopedPayload,
     expires_at='9999-12-31T23:59:59.000000Z')
case('audit_ids_with_url_safe_chars', tf.UnscopedPayload,
     audit_ids=['-_-_-_-_-_-_-_-_-_-_-w', '__________________8'],
     methods=['password', 'token'])
case('oauth2_domain_scoped', tf.Oauth2CredentialsScopedPayload,
     domain_id='00112233445566778899aabbccddeeff',
     methods=['oauth2_credential'],
     thumbprint='AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=')
case('trust_without_project', tf.TrustScopedPayload,
     trust_id='a1a2a3a4a5a6a7a8a9aaabacadaeafb0')
case('app_cred_non_uuid_ids', tf.ApplicationCredentialScopedPayload,
     user_id='ldap-user', project_id='not-a-uuid-project', app_cred_id='my-cred',
     methods=['application_credential'])
case('oauth1_non_uuid_access_token', tf.OauthScopedPayload,
     project_id=P, access_token_id='access-token-name', methods=['oauth1'])

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'edge_cases.json')
with open(out, 'w') as f:
    json.dump({'generator': 'keystone 30.0.0 TokenFormatter (generate_edge.py)',
               'keys': KEYS, 'auth_methods_config': METHODS,
               'default_domain_id': 'default', 'cases': cases},
              f, indent=1, ensure_ascii=False)
    f.write('\n')
print(len(cases), 'cases ->', out)
