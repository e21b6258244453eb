from caas import bootstrap

bootstrap.ensure()

from caas.cli import main  # noqa: E402 - only after the virtualenv is in place

raise SystemExit(main())
