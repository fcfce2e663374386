# The failure windows move here from accounts: the table is renamed, its rows kept.

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0002_failure_windows"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="FailureWindow",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("scope", models.CharField(max_length=64)),
                        ("key", models.CharField(max_length=255)),
                        ("window_start", models.DateTimeField()),
                        ("failures", models.PositiveIntegerField(default=0)),
                    ],
                    options={
                        "db_table": "accounts_failurewindow",
                        "indexes": [
                            models.Index(
                                fields=["window_start"], name="accounts_fa_window__eb318d_idx"
                            )
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("scope", "key"), name="failure_window_unique"
                            )
                        ],
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name="failurewindow", table=None),
        migrations.RenameIndex(
            model_name="failurewindow",
            new_name="failure_window_start",
            old_name="accounts_fa_window__eb318d_idx",
        ),
    ]
