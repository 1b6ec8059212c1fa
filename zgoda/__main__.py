"""`python -m zgoda`: the `zgoda` command."""

from zgoda.cli.main import main

main()
