"""``python -m helpers.analysis train | evaluate | release | bench`` (see :mod:`helpers.core.cli`)."""
from helpers.core import cli
from helpers.analysis.bench import bench
from helpers.analysis.train import METHOD

raise SystemExit(cli.main(METHOD, module="helpers.analysis", bench=bench))
