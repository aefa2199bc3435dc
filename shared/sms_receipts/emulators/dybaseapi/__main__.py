"""`python -m sms_receipts.emulators.dybaseapi [--port P] [--token-lifetime S] [--message-type T] ...`"""

import sys

from .server import main

sys.exit(main())
