"""`python -m sms_receipts_dev.emulators.dysmsapi [--port P] [--delivery-delay S] [--failure-rate R] ...`"""

import sys

from .server import main

sys.exit(main())
