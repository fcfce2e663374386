# Usernames are stored in one canonical form (NFKC, case-folded): existing ones are
# brought to it, unless an older account already holds that form: that one keeps its name
# as it was and cannot sign in until an admin renames it.

import unicodedata

from django.db import migrations

import accounts.models


def canonical(raw):
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", raw).casefold())


def canonicalize_usernames(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    taken = set(User.objects.values_list("username", flat=True))
    for pk, username in User.objects.order_by("date_joined").values_list("pk", "username"):
        name = canonical(username)
        if name != username and name not in taken:
            User.objects.filter(pk=pk).update(username=name)
            taken.discard(username)
            taken.add(name)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_failure_windows_to_core"),
    ]

    operations = [
        migrations.AlterModelManagers(
            name="user",
            managers=[
                ("objects", accounts.models.AccountManager()),
            ],
        ),
        migrations.RunPython(canonicalize_usernames, migrations.RunPython.noop),
    ]
