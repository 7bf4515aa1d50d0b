"""``python -m helpers.dcgan train | evaluate | release | bench`` (see :mod:`helpers.core.cli`)."""
from helpers.core import cli
from helpers.dcgan.bench import bench
from helpers.dcgan.train import METHOD

raise SystemExit(cli.main(METHOD, module="helpers.dcgan", bench=bench))
