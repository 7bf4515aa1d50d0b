"""``python -m helpers.lafin train | evaluate | release | bench | ablation | real | remeasure`` (see :mod:`helpers.core.cli`)."""
import sys

from helpers.core import cli
from helpers.lafin.bench import bench
from helpers.lafin.commands import ablation_main, real_main, remeasure_main
from helpers.lafin.train import METHOD

argv = sys.argv[1:]
if argv[:1] == ["ablation"]:
    raise SystemExit(ablation_main(argv[1:]))
if argv[:1] == ["remeasure"]:
    raise SystemExit(remeasure_main(argv[1:]))
if argv[:1] == ["real"]:
    raise SystemExit(real_main(argv[1:]))
raise SystemExit(cli.main(METHOD, argv, module="helpers.lafin", bench=bench))
