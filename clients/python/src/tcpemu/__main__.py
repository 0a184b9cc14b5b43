import sys

from tcpemu.cli import main

sys.exit(main())
