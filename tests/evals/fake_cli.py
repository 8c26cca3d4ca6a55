"""`medqa` with the test engine registered: what the kill tests run as a subprocess."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fake_engine  # noqa: E402

fake_engine.install()

from medqa.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = "medqa"
    main()
