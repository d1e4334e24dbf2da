import sys

from jitscope.cli import main

sys.exit(main())
