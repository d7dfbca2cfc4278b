"""`python -m amictl`"""

from .cli import main

main()
