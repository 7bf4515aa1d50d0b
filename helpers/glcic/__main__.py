"""``python -m helpers.glcic train | evaluate | release | bench | diagnose`` (see :mod:`helpers.core.cli`)."""
from helpers.core import cli
from helpers.glcic import diagnose
from helpers.glcic.bench import bench
from helpers.glcic.train import METHOD

DIAGNOSE = cli.Command("diagnose", "why a short run with the paper's settings draws no mouth (branch runs from one "
                       "checkpoint); --upsampling: where the checkerboard comes from",
                       diagnose.arguments, diagnose.run)

raise SystemExit(cli.main(METHOD, module="helpers.glcic", bench=bench, commands=[DIAGNOSE]))
