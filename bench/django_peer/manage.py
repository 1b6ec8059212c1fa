"""The peer project's manage.py: `migrate` before the bench serves it (DJANGO_PEER_DATABASE_URL)."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
