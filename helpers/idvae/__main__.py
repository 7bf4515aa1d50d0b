"""``python -m helpers.idvae train | evaluate | release | bench`` (see :mod:`helpers.core.cli`)."""
from helpers.core import cli
from helpers.idvae.bench import bench
from helpers.idvae.train import METHOD

raise SystemExit(cli.main(METHOD, module="helpers.idvae", bench=bench))
