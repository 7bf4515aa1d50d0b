"""``python -m helpers.ganimation train | evaluate | release | bench`` (see :mod:`helpers.core.cli`)."""
from helpers.core import cli
from helpers.ganimation.bench import bench
from helpers.ganimation.train import METHOD

raise SystemExit(cli.main(METHOD, module="helpers.ganimation", bench=bench))
