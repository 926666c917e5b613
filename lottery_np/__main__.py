"""``python -m lottery_np``: the same command line as ``lottery-np``."""
from .cli import main

raise SystemExit(main())
