"""`python -m sms_receipts_dev.emulators.tablestore [--port P] [--data-dir D] ...`"""

import sys

from .server import main

sys.exit(main())
