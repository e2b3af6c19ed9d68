import sys

from jepa_export.cli import main

sys.exit(main())
