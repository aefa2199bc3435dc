"""`python -m sms_receipts_dev.emulators.mns [--port P] [--data-dir D] [--queue NAME] ...`"""

import sys

from .server import main

sys.exit(main())
