import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))

from ocifixtures import *  # noqa: E402,F401,F403  (same --runtime option and fixtures)
