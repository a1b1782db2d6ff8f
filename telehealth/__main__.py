from __future__ import annotations

from telehealth.cli import main

main()
