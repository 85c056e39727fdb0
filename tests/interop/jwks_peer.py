"""A Django service running Simple JWT that trusts latch through its JWKS.

usage: jwks_peer.py JWK_URL ALGORITHM TOKEN...
Configures SIMPLE_JWT with ALGORITHM and JWK_URL only (no SIGNING_KEY or
VERIFYING_KEY of latch's), then checks each access token twice: with Simple
JWT's JWTAuthentication (user id 1 is "alice") and with PyJWT's
PyJWKClient alone. Prints one JSON list, one object per token:
{"simplejwt": "alice" | "<error>", "pyjwk": "<user_id>" | "<error>"}.
"""
import json
import sys

import django
from django.conf import settings

jwk_url, algorithm, *tokens = sys.argv[1:]
settings.configure(
    SECRET_KEY="interop-test-only",
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "rest_framework",
        "rest_framework_simplejwt",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    SIMPLE_JWT={"ALGORITHM": algorithm, "JWK_URL": jwk_url},
    USE_TZ=True,
)
django.setup()

import jwt  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework_simplejwt.authentication import JWTAuthentication  # noqa: E402

call_command("migrate", verbosity=0)
get_user_model().objects.create_user(id=1, username="alice", password="unused")

client = jwt.PyJWKClient(jwk_url)
out = []
for token in tokens:
    result = {}
    try:
        auth = JWTAuthentication()
        validated = auth.get_validated_token(token.encode())
        result["simplejwt"] = auth.get_user(validated).username
    except Exception as e:  # the message is what the test compares
        result["simplejwt"] = f"{type(e).__name__}: {e}"
    try:
        key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=[algorithm])
        result["pyjwk"] = str(claims["user_id"])
    except Exception as e:
        result["pyjwk"] = f"{type(e).__name__}: {e}"
    out.append(result)
print(json.dumps(out))
