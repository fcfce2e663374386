from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.forms import AdminLoginForm
from accounts.models import User

admin.site.register(User, UserAdmin)
# The admin signs in through the same throttled check as the login page and the API.
admin.site.login_form = AdminLoginForm
