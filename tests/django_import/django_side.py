"""A Django project with Simple JWT's blacklist, for `latch import-django`.

usage: django_side.py KEY DIR
Makes DIR/django.sqlite3 with one user per password hasher Django ships,
an inactive user, a user with an unusable password and a deleted one;
issues a refresh token per user, blacklists one, runs `dumpdata` into
DIR/dump.json, and prints what the test needs as one JSON object.
"""
import json
import os
import sys

import django
from django.conf import settings

key, out = sys.argv[1:]
settings.configure(
    SECRET_KEY="import-test-only",
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "rest_framework",
        "rest_framework_simplejwt",
        "rest_framework_simplejwt.token_blacklist",
    ],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(out, "django.sqlite3"),
        }
    },
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ],
    SIMPLE_JWT={"SIGNING_KEY": key, "ALGORITHM": "HS256"},
    USE_TZ=True,
)
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import check_password, make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

call_command("migrate", verbosity=0)
User = get_user_model()

# (name, hasher, id, password): the ids are Django's, not 1..n, so the test
# sees them kept.
people = [
    ("pat", "pbkdf2_sha256", 11, "pat's django password"),
    ("sha", "pbkdf2_sha1", 12, "sha's django password"),
    ("ari", "argon2", 13, "ari's django password"),
    ("bea", "bcrypt_sha256", 14, "bea's django password"),
    ("sky", "scrypt", 15, "sky's pässwörd ✓"),
]
users = {}
for name, hasher, pk, password in people:
    u = User.objects.create_user(id=pk, username=name, email=f"{name}@example.test")
    u.password = make_password(password, hasher=hasher)
    u.save()
    assert check_password(password, u.password)
    users[name] = {"id": pk, "password": password, "hash": u.password}

inactive = User.objects.create_user(id=16, username="ina", password="ina's django password")
inactive.is_active = False
inactive.save()
users["ina"] = {"id": 16, "password": "ina's django password", "hash": inactive.password}
unusable = User.objects.create_user(id=17, username="una")
unusable.set_unusable_password()
unusable.save()
users["una"] = {"id": 17, "password": "", "hash": unusable.password}
staff = User.objects.create_superuser(id=18, username="boss", password="the boss's password")
users["boss"] = {"id": 18, "password": "the boss's password", "hash": staff.password}

# A deleted user leaves Django's id sequence and a token naming them.
gone = User.objects.create_user(id=20, username="gone", password="x")
gone_token = RefreshToken.for_user(gone)
gone.delete()

tokens = {name: RefreshToken.for_user(User.objects.get(username=name)) for name in ("pat", "bea")}
tokens["pat"].blacklist()

call_command("dumpdata", output=os.path.join(out, "dump.json"), indent=2, verbosity=0)
print(json.dumps({
    "users": users,
    "blacklisted": str(tokens["pat"]),
    "outstanding": str(tokens["bea"]),
    "gone": str(gone_token),
}))
