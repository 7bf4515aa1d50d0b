"""``python -m helpers.glcic train | evaluate | release | bench`` (see :mod:`helpers.core.cli`)."""
from helpers.core import cli
from helpers.glcic.bench import bench
from helpers.glcic.train import METHOD

raise SystemExit(cli.main(METHOD, module="helpers.glcic", bench=bench))
