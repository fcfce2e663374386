"""Every model of the project has a factory, and each makes a row the model accepts."""

from __future__ import annotations

import inspect

import pytest
from django.apps import apps
from factory.django import DjangoModelFactory

from tests import factories

PROJECT_APPS = {"core", "accounts", "archives", "inbox", "notifications", "resumable"}
FACTORIES = [
    member
    for _, member in inspect.getmembers(factories, inspect.isclass)
    if issubclass(member, DjangoModelFactory) and member is not DjangoModelFactory
]


def test_every_model_of_the_project_has_a_factory() -> None:
    models = {
        model
        for config in apps.get_app_configs()
        if config.label in PROJECT_APPS
        for model in config.get_models()
    }

    assert models == {factory._meta.model for factory in FACTORIES}


@pytest.mark.django_db
@pytest.mark.parametrize("factory", FACTORIES, ids=lambda factory: factory.__name__)
def test_a_factory_makes_a_valid_row(factory: type[DjangoModelFactory]) -> None:
    first, second = factory.create(), factory.create()

    first.full_clean()
    second.full_clean()
    assert first.pk != second.pk
