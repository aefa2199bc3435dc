"""`python -m sms_receipts.emulators.tablestore [--port P] [--data-dir D] ...`"""

import sys

from .server import main

sys.exit(main())
