"""A Django service running Simple JWT, sharing latch's signing key.

usage: simplejwt_peer.py KEY verify ACCESS REFRESH   -> checks latch's tokens
       simplejwt_peer.py KEY mint USER_ID            -> mints a pair Django-side
       simplejwt_peer.py KEY claims ACCESS NAME...   -> reads claims as a view would
Prints one JSON object.
"""
import json
import sys

import django
from django.conf import settings

key, mode, *args = sys.argv[1:]
settings.configure(
    SECRET_KEY="interop-test-only",
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "rest_framework",
        "rest_framework_simplejwt",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    SIMPLE_JWT={"SIGNING_KEY": key, "ALGORITHM": "HS256"},
    USE_TZ=True,
)
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework_simplejwt.authentication import JWTAuthentication  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken  # noqa: E402

call_command("migrate", verbosity=0)
user = get_user_model().objects.create_user(id=1, username="alice", password="unused")

if mode == "verify":
    access, refresh = args
    validated = JWTAuthentication().get_validated_token(access.encode())
    who = JWTAuthentication().get_user(validated)
    r = RefreshToken(refresh)
    print(json.dumps({
        "user": who.username,
        "access_user_id": validated["user_id"],
        "refresh_type": r["token_type"],
    }))
elif mode == "mint":
    r = RefreshToken.for_user(user)
    print(json.dumps({"refresh": str(r), "access": str(r.access_token)}))
elif mode == "claims":
    token = AccessToken(args[0])
    print(json.dumps({name: token[name] for name in args[1:]}))
else:
    sys.exit(f"unknown mode {mode}")
