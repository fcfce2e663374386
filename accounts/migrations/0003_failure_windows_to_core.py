# The failure windows move to the core app (core 0001 renames their table).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_failure_windows"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="FailureWindow")],
        ),
    ]
