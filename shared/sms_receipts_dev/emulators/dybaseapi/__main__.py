"""`python -m sms_receipts_dev.emulators.dybaseapi [--port P] [--token-lifetime S] [--message-type T] ...`"""

import sys

from .server import main

sys.exit(main())
