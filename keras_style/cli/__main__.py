import sys

from keras_style.cli import main

sys.exit(main())
