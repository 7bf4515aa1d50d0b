"""``python -m helpers.synthfaces bench | gallery | export``."""
from helpers.synthfaces import main

main()
