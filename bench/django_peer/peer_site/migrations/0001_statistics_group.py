"""The data step: an optional cookie group "statistics" (with one cookie) to accept or decline."""

from django.db import migrations


def create_group(apps, schema_editor):
    CookieGroup = apps.get_model("cookie_consent", "CookieGroup")
    Cookie = apps.get_model("cookie_consent", "Cookie")
    group = CookieGroup.objects.create(
        varname="statistics",
        name="Statistics",
        description="Anonymous usage statistics.",
        is_required=False,
        is_deletable=True,
    )
    Cookie.objects.create(cookiegroup=group, name="_ga", description="Analytics visitor id.")


def delete_group(apps, schema_editor):
    apps.get_model("cookie_consent", "CookieGroup").objects.filter(varname="statistics").delete()


class Migration(migrations.Migration):
    dependencies = [("cookie_consent", "0004_cookie_natural_key")]
    operations = [migrations.RunPython(create_group, delete_group)]
