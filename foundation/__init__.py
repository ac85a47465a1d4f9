"""What the bot and the reminder engine both stand on and neither owns: the injectable clock
(clock.py), time-zone maths (timemath.py) and the reader of every TOML data file
(data_file.py). It imports nothing from ``bot/`` or ``scheduler/``."""
