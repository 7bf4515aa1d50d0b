"""Test defaults: quick profile, headless matplotlib, a bounded number of torch threads."""
import os
import warnings

os.environ.setdefault("FACES_PROFILE", "quick")
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
